"""Resumable jobs over archive items: a durable queue in the catalogue and workers that carry it out."""

from patina.batch.jobs import CANCELLED, FAILED, FINISHED, QUEUED, RUNNING, SUCCEEDED, JobQueue, JobRecord
from patina.batch.worker import WorkerPool, run_job

__all__ = ["CANCELLED", "FAILED", "FINISHED", "QUEUED", "RUNNING", "SUCCEEDED", "JobQueue", "JobRecord",
           "WorkerPool", "run_job"]
