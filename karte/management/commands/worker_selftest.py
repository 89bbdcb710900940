"""python manage.py worker_selftest [--wait 30]: submit a job that does nothing and wait for a worker to run it."""
import time

from django.core.management.base import BaseCommand, CommandError

from karte import tasks
from karte.models import BackgroundJob


class Command(BaseCommand):
    help = "Check that a worker (manage.py run_worker) takes jobs from the queue: submits a self-test job and waits."

    def add_arguments(self, parser):
        parser.add_argument("--wait", type=float, default=30, help="seconds to wait for the job (default 30)")

    def handle(self, *args, wait=30, **options):
        job = tasks.KINDS["selftest"].submit({"seconds": 0})
        deadline = time.monotonic() + wait
        while job.status not in BackgroundJob.FINISHED and time.monotonic() < deadline:
            time.sleep(0.2)
            job.refresh_from_db()
        if job.status == BackgroundJob.Status.DONE:
            waited = (job.finished_at - job.created_at).total_seconds()
            self.stdout.write(f"worker_selftest: job {job.pk} run by {job.result['worker']} {waited:.1f} s after it was queued")
            return
        if job.status == BackgroundJob.Status.QUEUED:
            raise CommandError(f"worker_selftest: job {job.pk} still queued after {wait:.0f} s: no worker takes jobs "
                               f"from {tasks.queue_description()} (start one: manage.py run_worker)")
        raise CommandError(f"worker_selftest: job {job.pk} ended {job.status}: {job.error or job.message}")
