"""The RQ worker class `manage.py rqworker` runs (settings.RQ["WORKER_CLASS"]): each job in the worker's own
process, with Django's connection upkeep around it as around a request.

RQ's default worker forks a process per job, and that child starts cold every time: a new PostgreSQL
connection, the translation catalogues and templates loaded again, and it exits with them. That was ~110 ms
of CPU for a confirmation e-mail whose work is ~7 ms (bench/email_bench.py --rq-worker). Jobs here run
one after another in one long-lived process instead, which keeps its connection (CONN_MAX_AGE) and what
it has loaded. A job's timeout still holds (RQ's SIGALRM death penalty, in this process).
"""

from django.db import close_old_connections
from rq.job import Job
from rq.queue import Queue
from rq.worker import SimpleWorker


class JobWorker(SimpleWorker):
    def execute_job(self, job: Job, queue: Queue) -> None:
        # Before: a connection PostgreSQL dropped since the last job (a restart, an idle timeout) is found by
        # the health check and replaced, instead of failing this job. After: one past CONN_MAX_AGE, or left
        # broken by the job, is closed.
        close_old_connections()
        try:
            super().execute_job(job, queue)
        finally:
            close_old_connections()
