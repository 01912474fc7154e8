"""Durable jobs in the archive's catalogue: submit, claim, report progress, cancel, finish, recover.

Any number of workers, in one process or several (or on several machines sharing a PostgreSQL
catalogue), take jobs from the same table: a job is claimed by an UPDATE that only succeeds while it
is still queued, so no job runs twice at once. A job left 'running' by a worker that died goes back
to the queue; since a derivation that was already stored is found again rather than redone,
re-running such a job is safe.
"""

from __future__ import annotations

import builtins
import os
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from patina.archive import Archive
from patina.archive.schema import Job, as_utc, utcnow
from patina.archive.store import process_alive
from patina.archive.derive import check_output_format
from patina.core.errors import ArchiveError
from patina.pipelines.recipes import get_recipe

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "queued", "running", "succeeded", "failed", "cancelled"
FINISHED = (SUCCEEDED, FAILED, CANCELLED)
STALE_AFTER = timedelta(minutes=5)
"""A running job whose worker has not reported for this long (on another machine) is taken as abandoned."""


class JobCancelled(Exception):
    """Raised inside a running job when its cancellation was requested."""


@dataclass(frozen=True)
class JobRecord:
    """A job as callers see it."""

    id: int
    item_id: int
    pipeline: str
    parameters: dict[str, Any]
    seed: int
    output_format: str
    status: str
    progress: float
    message: str
    cancel_requested: bool
    attempts: int
    derivative_id: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    finished: bool

    @classmethod
    def of(cls, job: Job) -> JobRecord:
        return cls(id=job.id, item_id=job.item_id, pipeline=job.pipeline, parameters=dict(job.parameters or {}),
                   seed=job.seed, output_format=job.output_format, status=job.status, progress=job.progress,
                   message=job.message, cancel_requested=job.cancel_requested, attempts=job.attempts,
                   derivative_id=job.derivative_id, created_at=as_utc(job.created_at),
                   started_at=as_utc(job.started_at), finished_at=as_utc(job.finished_at),
                   finished=job.status in FINISHED)


def worker_name() -> str:
    """host:pid:thread of the calling worker thread."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


class JobQueue:
    """The jobs table of one archive."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive

    def submit(self, item: int | str, pipeline: str, parameters: dict[str, Any] | None = None, *, seed: int = 0,
               output_format: str = "png") -> JobRecord:
        """Queue a pipeline run on an item; parameters are checked now, so a bad request fails at once."""
        return self.submit_many([item], pipeline, parameters, seed=seed, output_format=output_format)[0]

    def submit_many(self, items: Sequence[int | str], pipeline: str, parameters: dict[str, Any] | None = None, *,
                    seed: int = 0, output_format: str = "png") -> list[JobRecord]:
        """Queue the same run on several items as one batch: checked once, all queued or none."""
        get_recipe(pipeline).parameters(parameters)
        check_output_format(output_format)
        with self.archive.session() as session:
            jobs = [Job(item_id=self.archive.find(session, item).id, pipeline=pipeline,
                        parameters=dict(parameters or {}), seed=int(seed), output_format=output_format, status=QUEUED,
                        progress=0.0, message="", cancel_requested=False, worker="", attempts=0, created_at=utcnow())
                    for item in items]
            session.add_all(jobs)
            session.flush()
            return [JobRecord.of(job) for job in jobs]

    def get(self, job_id: int) -> JobRecord:
        with self.archive.session() as session:
            return JobRecord.of(_job(session, job_id))

    def list(self, *, status: str | None = None, item_id: int | None = None, limit: int = 100) -> list[JobRecord]:
        """Newest first."""
        statement = select(Job).order_by(Job.id.desc()).limit(limit)
        if status is not None:
            statement = statement.where(Job.status == status)
        if item_id is not None:
            statement = statement.where(Job.item_id == item_id)
        with self.archive.session() as session:
            return [JobRecord.of(job) for job in session.scalars(statement)]

    def stats(self) -> dict[str, Any]:
        """How many jobs are queued and running, and how long the oldest queued one has waited (seconds)."""
        with self.archive.session() as session:
            statement = (select(Job.status, func.count(Job.id)).where(Job.status.in_((QUEUED, RUNNING)))
                         .group_by(Job.status))
            counts = {status: count for status, count in session.execute(statement)}
            oldest = session.scalar(select(func.min(Job.created_at)).where(Job.status == QUEUED))
        waited = None if oldest is None else round((utcnow() - as_utc(oldest)).total_seconds(), 1)
        return {"queued": int(counts.get(QUEUED, 0)), "running": int(counts.get(RUNNING, 0)),
                "oldest_queued_seconds": waited}

    def cancel(self, job_id: int) -> JobRecord:
        """Cancel a queued job at once; ask a running one to stop at its next progress report."""
        with self.archive.session() as session:
            job = _job(session, job_id)
            if job.status == QUEUED:
                job.status, job.finished_at, job.message = CANCELLED, utcnow(), "cancelled before it started"
            elif job.status == RUNNING:
                job.cancel_requested = True
            return JobRecord.of(job)

    def claim(self, worker: str) -> JobRecord | None:
        """Take the oldest queued job for ``worker``, or None when the queue is empty."""
        while True:
            with self.archive.session() as session:
                job_id = session.scalar(select(Job.id).where(Job.status == QUEUED).order_by(Job.id).limit(1))
                if job_id is None:
                    return None
                now = utcnow()
                result = session.execute(
                    update(Job).where(Job.id == job_id, Job.status == QUEUED)
                    .values(status=RUNNING, worker=worker, started_at=now, heartbeat_at=now, progress=0.0,
                            attempts=Job.attempts + 1, message="")
                )
                taken = cast(CursorResult[Any], result).rowcount  # an UPDATE's result is a CursorResult
                if taken:
                    return JobRecord.of(_job(session, job_id))

    def report(self, job_id: int, progress: float, message: str = "") -> bool:
        """Record progress (0..1) and a heartbeat; returns whether cancellation was requested."""
        with self.archive.session() as session:
            job = _job(session, job_id)
            job.progress = max(0.0, min(1.0, float(progress)))
            job.heartbeat_at = utcnow()
            if message:
                job.message = message
            return bool(job.cancel_requested)

    def finish(self, job_id: int, status: str, *, message: str = "", derivative_id: int | None = None) -> JobRecord:
        """Mark a running job succeeded, failed or cancelled."""
        if status not in FINISHED:
            raise ValueError(f"not a final status: {status}")
        with self.archive.session() as session:
            job = _job(session, job_id)
            job.status, job.message, job.finished_at = status, message, utcnow()
            if status == SUCCEEDED:
                job.progress, job.derivative_id = 1.0, derivative_id
            return JobRecord.of(job)

    def recover(self) -> builtins.list[int]:  # ``list`` here is the method above
        """Put back in the queue the running jobs whose worker is gone: a dead process on this host, or
        no heartbeat for STALE_AFTER. Returns their ids."""
        host = socket.gethostname()
        recovered = []
        with self.archive.session() as session:
            for job in session.scalars(select(Job).where(Job.status == RUNNING)):
                worker_host, _, rest = job.worker.partition(":")
                pid = rest.partition(":")[0]
                beat = as_utc(job.heartbeat_at) or as_utc(job.started_at) or utcnow()
                dead_here = worker_host == host and pid.isdigit() and not process_alive(int(pid))
                if dead_here or utcnow() - beat > STALE_AFTER:
                    job.status, job.worker, job.progress = QUEUED, "", 0.0
                    job.message = "resumed after its worker stopped"
                    recovered.append(job.id)
        return recovered



def _job(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise ArchiveError(f"no job {job_id}")
    return job
