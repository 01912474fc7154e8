"""Workers that carry out queued jobs: a pool of threads in this process (the service's default), or
as many processes as you start with `patina archive worker`, all taking from the same durable queue."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from patina.archive import Archive
from patina.core.errors import failure_reason
from patina.batch.jobs import CANCELLED, FAILED, SUCCEEDED, JobCancelled, JobQueue, JobRecord, worker_name

REPORT_EVERY = 0.25  # seconds between progress writes to the catalogue

log = logging.getLogger(__name__)


def run_job(queue: JobQueue, job: JobRecord, *, device: str = "cpu") -> JobRecord:
    """Carry out one claimed job: derive, reporting progress and honouring cancellation."""
    last = 0.0

    def on_progress(fraction: float) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= REPORT_EVERY or fraction >= 1.0:
            last = now
            if queue.report(job.id, fraction * 0.99):  # 100 % only once the result is stored
                raise JobCancelled

    what = f"job {job.id} ({job.pipeline} on item {job.item_id})"
    started = time.monotonic()
    log.info("%s started", what)
    try:
        if queue.report(job.id, 0.0, "running"):
            raise JobCancelled
        result = queue.archive.derive(job.item_id, job.pipeline, job.parameters, seed=job.seed,
                                      output_format=job.output_format, device=device, on_progress=on_progress)
    except JobCancelled:
        log.info("%s cancelled", what)
        return queue.finish(job.id, CANCELLED, message="cancelled while running")
    except Exception as exc:  # noqa: BLE001 - a failing job is recorded, the worker goes on
        reason = failure_reason(exc)
        log.warning("%s failed: %s", what, reason)
        return queue.finish(job.id, FAILED, message=reason)
    message = "found an identical earlier result" if result.reused else "done"
    notes = result.event.detail.get("notes", [])
    log.info("%s %s in %.1f s: derivative %s", what, message, time.monotonic() - started, result.item.id)
    return queue.finish(job.id, SUCCEEDED, message="; ".join([message, *notes]), derivative_id=result.item.id)


class WorkerPool:
    """``workers`` threads that take jobs from the archive's queue until stopped."""

    def __init__(self, archive: Archive, *, workers: int = 1, device: str = "cpu", poll_seconds: float = 0.5,
                 on_job: Callable[[JobRecord], None] | None = None) -> None:
        if workers < 1:
            raise ValueError("a worker pool needs at least one worker")
        self.queue = JobQueue(archive)
        self.workers, self.device, self.poll_seconds, self.on_job = workers, device, poll_seconds, on_job
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> list[int]:
        """Re-queue jobs abandoned by dead workers, then start the threads. Returns the re-queued job ids."""
        recovered = self.queue.recover()
        for index in range(self.workers):
            thread = threading.Thread(target=self._loop, name=f"patina-worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return recovered

    def wake(self) -> None:
        """Look at the queue now (call after submitting a job)."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop taking jobs; running ones are finished first (up to ``timeout`` seconds)."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def run_until_empty(self) -> int:
        """Carry out queued jobs in this thread until none is left; returns how many were run."""
        self.queue.recover()
        done = 0
        while (job := self.queue.claim(worker_name())) is not None:
            self._finished(run_job(self.queue, job, device=self.device))
            done += 1
        return done

    def _loop(self) -> None:
        name = worker_name()
        while not self._stop.is_set():
            job = self.queue.claim(name)
            if job is None:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()
                continue
            self._finished(run_job(self.queue, job, device=self.device))

    def _finished(self, job: JobRecord) -> None:
        if self.on_job is not None:
            self.on_job(job)
