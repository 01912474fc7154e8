"""The durable job queue and its workers: claim once, progress, cancel, failure, recovery after a crash."""

from __future__ import annotations

import os
import socket
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from conftest import write_photo
from patina.archive import Archive
from patina.archive.schema import Job, utcnow
from patina.batch import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, JobQueue, WorkerPool, run_job
from patina.core.errors import ParameterError

FAST = {"ensemble": False, "tile": 0}


@pytest.fixture
def queue(archive: Archive, tmp_path: Path) -> JobQueue:
    archive.import_paths([write_photo(tmp_path / f"p{i}.png", seed=i, size=(40, 32)) for i in range(3)])
    return JobQueue(archive)


def test_a_job_is_claimed_once_and_finishes_with_its_derivative(queue: JobQueue) -> None:
    job = queue.submit(1, "restore", FAST)
    assert job.status == QUEUED and job.progress == 0
    claimed = queue.claim("host:1:1")
    assert claimed.id == job.id and claimed.status == RUNNING and claimed.attempts == 1
    assert queue.claim("host:2:1") is None  # nobody else gets it
    seen = []
    original = queue.report
    queue.report = lambda job_id, progress, message="": seen.append(progress) or original(job_id, progress, message)
    done = run_job(queue, claimed)
    assert done.status == SUCCEEDED and done.progress == 1.0 and done.derivative_id is not None
    assert queue.archive.item(done.derivative_id).parent_id == 1
    assert seen[0] == 0.0 and max(seen) > 0.9


def test_a_finished_job_carries_the_pipelines_notes(queue: JobQueue) -> None:
    queue.submit(2, "colorize", {})  # a colour photo: copied through, with a note
    done = run_job(queue, queue.claim("host:1:1"))
    assert done.status == SUCCEEDED and done.message.startswith("done; ") and "already a colour photo" in done.message


def test_bad_requests_are_refused_when_submitted(queue: JobQueue) -> None:
    with pytest.raises(ParameterError, match="unknown pipeline"):
        queue.submit(1, "teleport")
    with pytest.raises(ParameterError, match="has no parameter"):
        queue.submit(1, "restore", {"speed": 3})
    assert queue.list() == []


def test_cancel_a_queued_job_and_a_running_one(queue: JobQueue) -> None:
    waiting = queue.submit(1, "restore", FAST)
    assert queue.cancel(waiting.id).status == CANCELLED
    running = queue.submit(2, "restore", FAST)
    claimed = queue.claim("host:1:1")
    assert claimed.id == running.id
    queue.cancel(running.id)
    finished = run_job(queue, claimed)
    assert finished.status == CANCELLED and finished.derivative_id is None
    assert queue.archive.count(role="derivative") == 0


def test_a_failing_job_is_recorded_and_the_worker_goes_on(queue: JobQueue, caplog) -> None:
    caplog.set_level("INFO", logger="patina.batch")
    with pytest.raises(ParameterError, match="strength"):  # a bad value is refused before it is queued
        queue.submit(1, "restore", {**FAST, "strength": 7})
    assert queue.list() == []
    bad = queue.submit(1, "restore", {**FAST, "model": "no-such-model"})  # fails only when it runs
    good = queue.submit(2, "restore", FAST)
    pool = WorkerPool(queue.archive)
    assert pool.run_until_empty() == 2
    assert queue.get(bad.id).status == FAILED and "no-such-model" in queue.get(bad.id).message
    assert queue.get(good.id).status == SUCCEEDED
    logged = [record.getMessage() for record in caplog.records]  # the server's log: start, failure, finish
    assert f"job {bad.id} (restore on item 1) started" in logged
    assert any(line.startswith(f"job {bad.id} (restore on item 1) failed: ") and "no-such-model" in line
               for line in logged)
    assert any(line.startswith(f"job {good.id} (restore on item 2) done in ") for line in logged)


def test_jobs_of_a_dead_worker_are_resumed(queue: JobQueue) -> None:
    job = queue.submit(3, "restore", FAST)
    queue.claim(f"{socket.gethostname()}:999999999:1")  # a pid that does not exist
    fresh = queue.submit(1, "restore", FAST)
    queue.claim(f"{socket.gethostname()}:{os.getpid()}:1")  # this process: alive
    assert queue.recover() == [job.id]
    record = queue.get(job.id)
    assert record.status == QUEUED and "resumed" in record.message
    assert queue.get(fresh.id).status == RUNNING
    with queue.archive.session() as session:  # a worker elsewhere that stopped reporting long ago
        session.execute(update(Job).where(Job.id == fresh.id).values(worker="elsewhere:1:1",
                                                                     heartbeat_at=utcnow() - timedelta(hours=1)))
    assert queue.recover() == [fresh.id]


def test_pool_threads_run_submitted_jobs(queue: JobQueue) -> None:
    finished = []
    pool = WorkerPool(queue.archive, workers=2, poll_seconds=0.05, on_job=finished.append)
    pool.start()
    try:
        ids = [queue.submit(i, "restore", FAST).id for i in (1, 2, 3)]
        pool.wake()
        deadline = time.monotonic() + 60
        while len(finished) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        pool.stop()
    assert sorted(job.id for job in finished) == ids
    assert all(queue.get(i).status == SUCCEEDED for i in ids)


@pytest.mark.slow
def test_the_worker_outlives_a_failing_queue_and_a_dead_thread_is_restarted(queue: JobQueue, monkeypatch) -> None:
    from patina.batch import worker as worker_module

    monkeypatch.setattr(worker_module, "SUPERVISE_EVERY", 0.05)
    failures = {"left": 2}
    claim = queue.claim

    def flaky(name: str):  # noqa: ANN202 - the pool's claim, failing twice like an exhausted connection pool
        if failures["left"]:
            failures["left"] -= 1
            raise TimeoutError("QueuePool limit reached")
        return claim(name)

    pool = WorkerPool(queue.archive, poll_seconds=0.05)
    monkeypatch.setattr(pool.queue, "claim", flaky)
    monkeypatch.setattr(worker_module, "MAX_BACKOFF", 0.1)
    pool.start()
    try:
        job = pool.queue.submit(1, "restore", FAST)
        pool.wake()
        deadline = time.monotonic() + 60
        while not pool.queue.get(job.id).finished:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert pool.queue.get(job.id).status == SUCCEEDED and failures["left"] == 0 and pool.alive() == 1
        pool._threads[0] = threading.Thread(target=lambda: None)  # a worker thread that has died
        pool._threads[0].start()
        pool._threads[0].join()
        while pool.restarts == 0:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert pool.alive() == 1
        again = pool.queue.submit(2, "restore", FAST)
        pool.wake()
        while not pool.queue.get(again.id).finished:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert pool.queue.get(again.id).status == SUCCEEDED
    finally:
        pool.stop()


@pytest.mark.slow
def test_two_workers_given_the_same_request_make_one_derivative(queue: JobQueue, monkeypatch) -> None:
    from patina.pipelines import recipes

    execute = recipes.Recipe.execute

    def slow(self, *args, **kwargs):  # noqa: ANN001, ANN202 - long enough for both workers to start the same run
        time.sleep(0.4)
        return execute(self, *args, **kwargs)

    monkeypatch.setattr(recipes.Recipe, "execute", slow)
    jobs = [queue.submit(1, "restore", {**FAST, "strength": 0.6}) for _ in range(5)]
    pool = WorkerPool(queue.archive, workers=2, poll_seconds=0.05)
    pool.start()
    try:
        deadline = time.monotonic() + 120
        while not all(queue.get(job.id).finished for job in jobs):
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        pool.stop()
    finished = [queue.get(job.id) for job in jobs]
    assert {job.status for job in finished} == {SUCCEEDED}
    assert len({job.derivative_id for job in finished}) == 1
    assert queue.archive.count(role="derivative") == 1
    assert len(queue.archive.events(1, event_type="derivation")) == 1
