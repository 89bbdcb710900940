"""python manage.py run_worker [--workers N]: the task worker (see karte.tasks)."""
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from karte import tasks


class Command(BaseCommand):
    help = ("Run the background-job worker: puts back jobs a dead worker left, then runs queued jobs "
            "until stopped (SIGTERM/SIGINT: finish the running jobs; a second signal interrupts them).")

    def add_arguments(self, parser):
        parser.add_argument("--workers", type=int, default=None,
                            help="worker processes (default KARTE_TASK_WORKERS, 1): jobs run at once")

    def handle(self, *args, workers=None, **options):
        workers = workers or settings.KARTE_TASK_WORKERS
        if workers < 1:
            raise CommandError(f"--workers must be at least 1, got {workers}")
        try:
            huey = tasks.queue()
        except Exception as error:  # a bad URL or an unreachable Postgres queue: one line, what to fix
            raise CommandError(f"task queue {tasks.queue_description()}: {error}") from None
        if huey.immediate:
            raise CommandError("KARTE_TASKS_URL=immediate runs jobs in the process that submits them; "
                               "a worker has nothing to take (set KARTE_TASKS_URL to sqlite://, redis:// or postgresql://)")
        try:
            recovery = tasks.recover_jobs()
        except Exception as error:
            raise CommandError(f"task queue {tasks.queue_description()}: {error}") from None
        self.stdout.write(f"run_worker: queue {tasks.queue_description()} ({settings.KARTE_TASKS_QUEUE}), "
                          f"{workers} worker process(es); {recovery}")
        self.stdout.flush()
        # The worker processes are forked: none may inherit this process's database connections.
        connections.close_all()
        consumer = huey.create_consumer(workers=workers, worker_type="process", periodic=True,
                                        check_worker_health=True, health_check_interval=5,
                                        graceful_signal="TERM")
        consumer.run()
