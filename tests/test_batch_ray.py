"""Scale-out on Ray: local Ray tasks drain the durable queue; every job runs exactly once."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import write_photo
from patina.archive import Archive
from patina.batch import SUCCEEDED, JobQueue

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow


def test_ray_tasks_run_every_queued_job_once(tmp_path: Path) -> None:
    from patina.batch.ray_runner import run_on_ray

    root = tmp_path / "archive"
    with Archive.create(root) as archive:
        archive.import_paths([write_photo(tmp_path / f"p{i}.png", seed=i, size=(40, 32)) for i in range(4)])
        queue = JobQueue(archive)
        submitted = [queue.submit(i, "restore", {"ensemble": False, "tile": 0}).id for i in (1, 2, 3, 4)]
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        finished = run_on_ray(root, tasks=2)
    finally:
        ray.shutdown()
    assert [job.id for job in finished] == submitted
    assert all(job.status == SUCCEEDED for job in finished)
    with Archive.open(root) as archive:
        derivatives = archive.items(role="derivative")
        assert sorted(d.parent_id for d in derivatives) == [1, 2, 3, 4]
        assert len({job.derivative_id for job in finished}) == 4
        assert archive.reproduce(derivatives[0].id).identical  # the task's thread count was recorded
