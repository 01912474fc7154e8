"""Scale out on a Ray cluster: Ray tasks drain the archive's durable job queue.

Each task opens the archive itself and takes jobs until none is left, so the queue stays the single
source of truth: a task or node that dies leaves its job to be resumed, and Ray adds nothing to the
catalogue. Every node must reach the archive folder under the same path (a shared filesystem) and,
across machines, a PostgreSQL catalogue (SQLite is for one machine).
"""

from __future__ import annotations

from pathlib import Path

from patina.archive import Archive
from patina.core.errors import ParameterError
from patina.batch.jobs import JobQueue, JobRecord, worker_name
from patina.batch.worker import run_job


def drain(root: str, device: str = "cpu") -> list[JobRecord]:
    """Take and run jobs of the archive at ``root`` until the queue is empty (the body of one Ray task)."""
    with Archive.open(root) as archive:
        queue = JobQueue(archive)
        finished = []
        while (job := queue.claim(worker_name())) is not None:
            finished.append(run_job(queue, job, device=device))
        return finished


def _drain_task(root: str, device: str) -> list[JobRecord]:
    """:func:`drain` with both parameters required: ray types a remote function by its parameters, and
    would take ``drain`` (whose ``device`` has a default) for a one-argument function."""
    return drain(root, device)


def run_on_ray(root: str | Path, *, tasks: int = 2, device: str = "cpu", address: str | None = None,
               cpus_per_task: float = 1.0) -> list[JobRecord]:
    """Run every queued job of the archive at ``root`` with ``tasks`` Ray tasks; returns the finished jobs.

    ``address`` is a Ray cluster address ('auto' for the one this machine belongs to); None starts a
    local Ray instance for the run (or uses the one already initialised).
    """
    try:
        import ray
    except ImportError:
        raise ParameterError("running jobs on Ray needs the ray extras: pip install -e '.[ray]'") from None

    root = str(Path(root).resolve())
    with Archive.open(root) as archive:
        JobQueue(archive).recover()
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    try:
        remote = ray.remote(num_cpus=cpus_per_task)(_drain_task)
        batches = ray.get([remote.remote(root, device) for _ in range(max(1, tasks))])
    finally:
        if started_here:
            ray.shutdown()
    return sorted((job for batch in batches for job in batch), key=lambda job: job.id)
