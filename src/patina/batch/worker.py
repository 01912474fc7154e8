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
SUPERVISE_EVERY = 2.0  # seconds between the supervisor's looks at the worker threads
MAX_BACKOFF = 30.0  # the longest wait after repeated failures to reach the queue

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
        self._supervisor: threading.Thread | None = None
        self.restarts = 0
        """Worker threads the supervisor restarted."""

    def start(self) -> list[int]:
        """Re-queue jobs abandoned by dead workers, then start the threads and their supervisor (which restarts a
        worker thread that died). Returns the re-queued job ids."""
        recovered = self.queue.recover()
        self._threads = [self._spawn(index) for index in range(self.workers)]
        self._supervisor = threading.Thread(target=self._supervise, name="patina-worker-supervisor", daemon=True)
        self._supervisor.start()
        return recovered

    def _spawn(self, index: int) -> threading.Thread:
        thread = threading.Thread(target=self._loop, name=f"patina-worker-{index}", daemon=True)
        thread.start()
        return thread

    def _supervise(self) -> None:
        while not self._stop.wait(SUPERVISE_EVERY):
            for index, thread in enumerate(self._threads):
                if not thread.is_alive() and not self._stop.is_set():
                    log.error("worker thread %s stopped; starting a new one", thread.name)
                    self.restarts += 1
                    self._threads[index] = self._spawn(index)

    def alive(self) -> int:
        """How many worker threads are running."""
        return sum(thread.is_alive() for thread in self._threads)

    def wake(self) -> None:
        """Look at the queue now (call after submitting a job)."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop taking jobs; running ones are finished first (up to ``timeout`` seconds)."""
        self._stop.set()
        self._wake.set()
        for thread in [*self._threads, *([self._supervisor] if self._supervisor else [])]:
            thread.join(timeout)
        self._threads.clear()
        self._supervisor = None

    def run_until_empty(self) -> int:
        """Carry out queued jobs in this thread until none is left; returns how many were run."""
        self.queue.recover()
        done = 0
        while (job := self.queue.claim(worker_name())) is not None:
            self._finished(run_job(self.queue, job, device=self.device))
            done += 1
        return done

    def _loop(self) -> None:
        """Claim and run jobs until stopped. No exception ends it: a failure to reach the queue (a busy database)
        is logged and retried after a growing pause; one around a job is logged and the next job is taken."""
        name = worker_name()
        failures = 0
        while not self._stop.is_set():
            try:
                job = self.queue.claim(name)
            except Exception:  # noqa: BLE001 - the worker must outlive any failure of the catalogue
                failures += 1
                pause = min(MAX_BACKOFF, 0.5 * 2 ** failures)
                log.exception("could not take a job (%d failures in a row); trying again in %.1f s", failures, pause)
                self._stop.wait(pause)
                continue
            failures = 0
            if job is None:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()
                continue
            try:
                self._finished(run_job(self.queue, job, device=self.device))
            except Exception:  # noqa: BLE001 - e.g. the catalogue failed while recording the result
                log.exception("job %s: recording its end failed; the worker goes on", job.id)

    def _finished(self, job: JobRecord) -> None:
        if self.on_job is not None:
            self.on_job(job)
