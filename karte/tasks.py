"""Background jobs: long work (the exact siting, a ward's or a city's PDF batch, fetching open data) off the request.

Contract:

- A *job kind* is a function ``body(job: JobContext, **parameters) -> result`` registered with
  ``@job_kind("siting", time_limit_s=900)``; ``parameters`` and the result are JSON. ``kind.submit(
  parameters, user=...)`` stores a :class:`~karte.models.BackgroundJob` (queued) and puts its id on the
  queue, once the caller's transaction commits; ``manage.py run_worker`` runs it. Pages poll the row
  (``status_document``; ``/jobs/<public_id>/`` in ``karte.views.ops``).
- Progress: ``job.progress(percent, message)`` writes to the row at once (outside the body's
  transaction when called outside it) and checks the time cap.
- Time cap: each kind has one (``KARTE_TASK_TIME_LIMITS`` overrides). Past it the job stops with
  status ``timed_out`` and a message saying so: at its next ``progress`` call or database statement,
  or by SIGALRM where the body runs in a process's main thread (the worker's processes); never in
  the middle of database code, and a C extension finishes its call first, so long solver calls get
  the remaining time as their own limit (``job.remaining_s``).
- Nothing half-written: the body computes outside any transaction (on SQLite a long transaction
  would hold the one write lock) and does all its writes in one ``transaction.atomic()`` block, so a
  failure or the time cap inside it rolls all of them back. The runner enforces the rule: a write
  outside a transaction is refused before it runs; a write in a second transaction is refused too
  (the first has committed by then, but such a body fails on every run, so its tests show it).
- Worker restarts: the queue keeps jobs while no worker runs (an SQLite file or Redis/PostgreSQL), and
  at start (and every minute) a worker puts back on the queue the jobs a dead worker of this host left
  ``running``: they run again from the start (``attempts`` counts starts) until
  ``KARTE_TASK_MAX_ATTEMPTS``, then are marked failed. A worker stopped by signal puts its job back too.

The queue is huey (``KARTE_TASKS_URL``: ``sqlite:////path`` by default, ``redis://…``,
``postgresql://…``, or ``immediate`` to run jobs in the caller, as the unit tests do). Neighbours:
``karte.models.BackgroundJob`` (the record), ``karte.views.ops`` (status endpoint), ``karte.health``
(queue reachable), ``karte.management.commands.run_worker`` (the worker).
"""
from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.signals import setting_changed
from django.db import close_old_connections, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from .models import BackgroundJob

logger = logging.getLogger(__name__)
Status = BackgroundJob.Status

RUN_JOB_TASK = "karte.run_job"
RECOVERY_INTERVAL_MINUTES = 1


class JobTimeout(Exception):
    """The job ran past its time cap."""


class JobWriteError(RuntimeError):
    """A job body wrote outside its one transaction (see the module's contract)."""


class JobInputError(ValueError):
    """A job was submitted with parameters its kind cannot take (raised at submit, before queueing)."""


# ---------------------------------------------------------------------------------------------
# The queue
# ---------------------------------------------------------------------------------------------

def build_queue(url: str, name: str):
    """A huey instance for ``KARTE_TASKS_URL``: results are not kept by huey (the job row holds them)."""
    from huey import MemoryHuey, PostgresHuey, RedisHuey, SqliteHuey

    options = {"results": False, "utc": True}
    if url == "immediate":
        return MemoryHuey(name, immediate=True, **options)
    scheme = url.partition("://")[0].lower()
    if scheme == "sqlite":
        path = url.split("://", 1)[1]
        path = path[1:] if path.startswith("/") else path  # sqlite:////abs/path or sqlite:///relative
        if not path:
            raise ValueError(f"KARTE_TASKS_URL {url!r} names no file")
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        # Its own file, not the SpatiaLite database: queue traffic never waits for a data writer.
        return SqliteHuey(name, filename=path, timeout=30, **options)
    if scheme in {"redis", "rediss", "unix"}:
        return RedisHuey(name, url=url, **options)
    if scheme in {"postgres", "postgresql", "postgis"}:
        return PostgresHuey(name, dsn="postgresql://" + url.split("://", 1)[1], **options)
    raise ValueError(f"KARTE_TASKS_URL must be sqlite://, redis://, postgresql:// or 'immediate', not {url!r}")


_queue_lock = threading.Lock()
_queue: Any = None
_run_job_task: Any = None


def queue():
    """The process's queue, built on first use from the settings (so importing this module connects to
    nothing), with the one task that runs a job and the worker's periodic recovery registered on it."""
    global _queue, _run_job_task
    with _queue_lock:
        if _queue is None:
            from huey import crontab

            built = build_queue(settings.KARTE_TASKS_URL, settings.KARTE_TASKS_QUEUE)
            _run_job_task = built.task(name=RUN_JOB_TASK)(run_job)
            built.periodic_task(crontab(minute=f"*/{RECOVERY_INTERVAL_MINUTES}"), name="karte.recover_jobs")(
                _periodic_recovery)
            _queue = built
        return _queue


def reset_queue(**_: Any) -> None:
    """Forget the built queue (the settings changed, e.g. in a test)."""
    global _queue, _run_job_task
    with _queue_lock:
        _queue = _run_job_task = None


def _on_setting_changed(setting: str, **kwargs: Any) -> None:
    if setting in {"KARTE_TASKS_URL", "KARTE_TASKS_QUEUE"}:
        reset_queue()


setting_changed.connect(_on_setting_changed)


def enqueue(job_pk: int) -> None:
    """Put a stored job on the queue: now in immediate mode (it runs here), else when the caller's
    transaction commits (a worker must find the row)."""
    huey = queue()
    if huey.immediate:
        _run_job_task(job_pk)
    else:
        transaction.on_commit(lambda: _run_job_task(job_pk))


def queued_job_ids() -> set[int]:
    """Ids of the jobs waiting on the queue itself (not the rows: the queue's own messages)."""
    queue()
    return {int(task.args[0]) for task in queue().pending()
            if isinstance(task, _run_job_task.task_class) and task.args}


def queue_description() -> str:
    """Where the queue lives, without credentials (for health and the worker's first line)."""
    url = settings.KARTE_TASKS_URL
    scheme, _, rest = url.partition("://")
    if not rest:
        return url
    if scheme == "sqlite":
        return url
    host = rest.rsplit("@", 1)[-1]
    return f"{scheme}://{host}"


# ---------------------------------------------------------------------------------------------
# Job kinds
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class JobKind:
    name: str
    body: Callable[..., Any]
    default_time_limit_s: float
    label: str = ""
    # A body that commits its own consistent steps (fetch_open_data: all loads in one transaction,
    # then compute): several transactions are allowed, writes outside any transaction still are not.
    own_transactions: bool = False

    @property
    def time_limit_s(self) -> float:
        return float(settings.KARTE_TASK_TIME_LIMITS.get(self.name, self.default_time_limit_s))

    def submit(self, parameters: dict[str, Any] | None = None, *, user=None) -> BackgroundJob:
        """Store a queued job of this kind and queue it; returns the row (already run in immediate mode)."""
        parameters = dict(parameters or {})
        try:
            json.dumps(parameters)
        except TypeError as error:
            raise JobInputError(f"{self.name} job: parameters must be JSON ({error})") from None
        job = BackgroundJob.objects.create(
            kind=self.name, parameters=parameters, time_limit_s=self.time_limit_s,
            created_by=user if getattr(user, "is_authenticated", False) else None,
            message=gettext_noop("順番を待っています"),
        )
        enqueue(job.pk)
        job.refresh_from_db()
        return job

    def __call__(self, job: JobContext, **parameters: Any) -> Any:
        return self.body(job, **parameters)


KINDS: dict[str, JobKind] = {}


def job_kind(name: str, *, time_limit_s: float, label: str = "",
             own_transactions: bool = False) -> Callable[[Callable[..., Any]], JobKind]:
    """Register ``body(job, **parameters)`` as the job kind ``name`` with a default time cap."""
    def register(body: Callable[..., Any]) -> JobKind:
        if name in KINDS:
            raise ValueError(f"job kind {name!r} is registered twice")
        KINDS[name] = JobKind(name=name, body=body, default_time_limit_s=time_limit_s, label=label,
                              own_transactions=own_transactions)
        return KINDS[name]
    return register


# ---------------------------------------------------------------------------------------------
# Running a job
# ---------------------------------------------------------------------------------------------

WRITE_STATEMENTS = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER", "TRUNCATE")


class _OneTransaction:
    """A database execute wrapper refusing the body's writes outside one transaction (the outermost
    atomic block opened inside the body), so a failing job cannot leave half its writes behind; and
    stopping the body at its next statement once its time cap has passed."""

    def __init__(self, kind: str, deadline: float, several: bool = False):
        self.kind = kind
        self.deadline = deadline
        self.several = several
        self.base_depth = len(connection.atomic_blocks)  # a test's or caller's own atomic blocks
        self.block = None
        self.allowed = 0

    @contextmanager
    def allow(self) -> Iterator[None]:
        self.allowed += 1
        try:
            yield
        finally:
            self.allowed -= 1

    def __call__(self, execute, sql, params, many, context):
        if not self.allowed and time.monotonic() >= self.deadline:
            raise JobTimeout()  # before the statement, never in the middle of it
        if not self.allowed and sql.lstrip().split(None, 1)[0].upper() in WRITE_STATEMENTS:
            blocks = connection.atomic_blocks
            if len(blocks) <= self.base_depth:
                raise JobWriteError(f"the {self.kind} job wrote outside a transaction; a job writes in one "
                                    "transaction.atomic() block so that a failure leaves nothing half-written")
            if self.block is None:
                self.block = blocks[self.base_depth]
            elif blocks[self.base_depth] is not self.block and not self.several:
                raise JobWriteError(f"the {self.kind} job wrote in a second transaction; a job writes in one "
                                    "transaction.atomic() block so that a failure leaves nothing half-written")
        return execute(sql, params, many, context)


@dataclass
class JobContext:
    """What a job body gets: its row (read-only for the body), progress reporting and its time cap."""

    job: BackgroundJob
    deadline: float
    _guard: _OneTransaction = field(repr=False, default=None)  # type: ignore[assignment]
    _last: tuple[int, str] = (-1, "")

    @property
    def remaining_s(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def check_time(self) -> None:
        if time.monotonic() >= self.deadline:
            raise JobTimeout()

    def progress(self, percent: float, message: str = "") -> None:
        """Record how far the job is (0–99; 100 is written when it is done) and what it is doing.
        ``message`` is a short Japanese phrase (``gettext_noop``): the status endpoint translates it."""
        self.check_time()
        point = (max(0, min(99, int(percent))), message[:300])
        if point == self._last:
            return
        self._last = point
        with self._guard.allow():
            BackgroundJob.objects.filter(pk=self.job.pk).update(
                progress=point[0], message=point[1], updated_at=timezone.now())


# Code an alarm must not interrupt: a database driver stopped mid-statement or mid-commit leaves its
# connection unusable (and the transaction neither committed nor cleanly rolled back).
_UNINTERRUPTIBLE = (f"{os.sep}django{os.sep}db{os.sep}", f"{os.sep}psycopg{os.sep}", "psycopg_binary",
                    f"{os.sep}sqlite3{os.sep}", f"{os.sep}huey{os.sep}storage")
_ALARM_RETRY_S = 0.05


def _in_database_code(frame) -> bool:
    while frame is not None:
        if any(part in frame.f_code.co_filename for part in _UNINTERRUPTIBLE):
            return True
        frame = frame.f_back
    return False


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    """Raise JobTimeout in this thread after ``seconds`` where signals can (a process's main thread).
    An alarm arriving inside database code is put off until that code has returned (it re-arms itself
    every 50 ms); the job's own statements check the deadline before they run (``_OneTransaction``)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def on_alarm(signum, frame):
        if _in_database_code(frame):
            signal.setitimer(signal.ITIMER_REAL, _ALARM_RETRY_S)
            return
        raise JobTimeout()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _finish(job_pk: int, status: str, *, error: str = "", result: Any = None, message: str = "") -> None:
    fields: dict[str, Any] = {"status": status, "error": error, "finished_at": timezone.now(),
                              "updated_at": timezone.now()}
    if message:
        fields["message"] = message
    if status == Status.DONE:
        fields.update(progress=100, result=result)
    BackgroundJob.objects.filter(pk=job_pk).update(**fields)


def run_job(job_pk: int) -> None:
    """Run one stored job (the queue's task): claim it, run its kind's body under the time cap and the
    one-transaction rule, and record how it ended. A job already claimed elsewhere is left alone."""
    # A worker refreshes stale connections around each job. Inside a transaction (immediate mode, or
    # a caller such as a test that runs the worker's step itself) closing would end that transaction.
    refresh = not queue().immediate and not connection.in_atomic_block
    if refresh:
        close_old_connections()
    try:
        _run_claimed(job_pk)
    finally:
        if refresh:
            close_old_connections()


def _run_claimed(job_pk: int) -> None:
    claimed = BackgroundJob.objects.filter(pk=job_pk, status=Status.QUEUED).update(
        status=Status.RUNNING, attempts=F("attempts") + 1, started_at=timezone.now(), finished_at=None,
        worker=worker_id(), progress=0, message=gettext_noop("開始しました"), updated_at=timezone.now())
    if not claimed:
        logger.info("job %s: not queued any more (already run or claimed); skipped", job_pk)
        return
    job = BackgroundJob.objects.get(pk=job_pk)
    kind = KINDS.get(job.kind)
    if kind is None:
        _finish(job.pk, Status.FAILED, error=f"unknown job kind {job.kind!r} (known: {sorted(KINDS)})")
        return
    logger.info("job %s (%s): started, attempt %s, time cap %.0f s", job.pk, job.kind, job.attempts, job.time_limit_s)
    started = time.monotonic()
    # Run in immediate mode inside the caller's transaction (a test's, a request's), the job gets a
    # savepoint of its own, so its failure rolls back its part and leaves the caller's usable.
    isolated = transaction.atomic() if connection.in_atomic_block else nullcontext()
    try:
        with isolated:
            deadline = started + job.time_limit_s
            context = JobContext(job=job, deadline=deadline, _guard=_OneTransaction(job.kind, deadline, kind.own_transactions))
            with connection.execute_wrapper(context._guard), _alarm(job.time_limit_s):
                value = kind(context, **job.parameters)
        result = json.loads(json.dumps(value, cls=DjangoJSONEncoder))
    except JobTimeout:
        logger.warning("job %s (%s): stopped at its time cap of %.0f s", job.pk, job.kind, job.time_limit_s)
        _finish(job.pk, Status.TIMED_OUT, message=gettext_noop("時間切れで停止しました"),
                error=f"stopped after its time cap of {job.time_limit_s:.0f} s; nothing was saved. Ask for "
                      f"less (a ward instead of the city, fewer sites, the greedy solver) or have the operator "
                      f"raise KARTE_TASK_TIME_LIMITS for {job.kind}.")
    except KeyboardInterrupt:
        # The worker is being stopped: the body's transaction rolled back; the job runs again later.
        BackgroundJob.objects.filter(pk=job.pk).update(
            status=Status.QUEUED, worker="", progress=0, updated_at=timezone.now(),
            message=gettext_noop("作業プロセスの停止で中断しました。再開を待っています"))
        raise
    except (ValueError, LookupError, JobWriteError) as error:
        # Refused input (SitingInputError and the like are ValueErrors) or a broken body: say what.
        logger.warning("job %s (%s) failed: %s", job.pk, job.kind, error)
        _finish(job.pk, Status.FAILED, error=str(error)[:2000], message=gettext_noop("失敗しました"))
    except Exception:
        logger.exception("job %s (%s) failed", job.pk, job.kind)
        _finish(job.pk, Status.FAILED, message=gettext_noop("失敗しました"),
                error=f"internal error in the {job.kind} job; nothing was saved (the worker's log has the "
                      f"details under job {job.pk})")
    else:
        logger.info("job %s (%s): done in %.1f s", job.pk, job.kind, time.monotonic() - started)
        _finish(job.pk, Status.DONE, result=result, message=gettext_noop("完了しました"))


# ---------------------------------------------------------------------------------------------
# Worker restarts
# ---------------------------------------------------------------------------------------------

def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed process nobody has reaped yet still answers kill(0)
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


@dataclass
class Recovery:
    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    reenqueued: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"{len(self.requeued)} interrupted jobs queued again, {len(self.failed)} failed after "
                f"{settings.KARTE_TASK_MAX_ATTEMPTS} attempts, {len(self.reenqueued)} queued jobs put back on the queue")


def recover_jobs() -> Recovery:
    """Jobs a dead worker of this host left ``running`` go back to the queue (or fail after
    ``KARTE_TASK_MAX_ATTEMPTS`` starts); queued jobs whose message the queue lost (a Redis restart, a
    queue file removed) are queued again. Workers on other hosts are not judged: their pids mean nothing here."""
    report = Recovery()
    host = socket.gethostname()
    for job in BackgroundJob.objects.filter(status=Status.RUNNING, worker__startswith=f"{host}:"):
        pid = job.worker.rsplit(":", 1)[1]
        if pid.isdigit() and _process_alive(int(pid)):
            continue
        if job.attempts >= settings.KARTE_TASK_MAX_ATTEMPTS:
            _finish(job.pk, Status.FAILED, message=gettext_noop("失敗しました"),
                    error=f"the worker running this job stopped {job.attempts} times before it finished "
                          f"(killed or out of memory?); nothing was saved")
            report.failed.append(job.pk)
        else:
            BackgroundJob.objects.filter(pk=job.pk, status=Status.RUNNING).update(
                status=Status.QUEUED, worker="", progress=0, updated_at=timezone.now(),
                message=gettext_noop("作業プロセスの停止で中断しました。再開を待っています"))
            report.requeued.append(job.pk)
    waiting = queued_job_ids()
    for job_pk in BackgroundJob.objects.filter(status=Status.QUEUED).values_list("pk", flat=True):
        if job_pk not in waiting:
            _run_job_task(job_pk)  # (in immediate mode: runs it now)
            report.reenqueued.append(job_pk)
    if report.requeued or report.failed or report.reenqueued:
        logger.warning("job recovery: %s", report)
    return report


def _periodic_recovery() -> None:
    close_old_connections()
    try:
        recover_jobs()
    finally:
        close_old_connections()


# ---------------------------------------------------------------------------------------------
# What a page polls
# ---------------------------------------------------------------------------------------------

def status_document(job: BackgroundJob) -> dict[str, Any]:
    """The job as the status endpoint answers it (the contract in karte.views.ops)."""
    document: dict[str, Any] = {
        "id": str(job.public_id),
        "kind": job.kind,
        "status": job.status,
        "finished": job.finished,
        "progress": job.progress,
        "message": gettext(job.message) if job.message else "",
        "attempts": job.attempts,
        "time_limit_s": job.time_limit_s,
        "created_at": job.created_at.isoformat() if job.created_at else None,
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "result": job.result if job.status == Status.DONE else None,
        "error": job.error if job.status in (Status.FAILED, Status.TIMED_OUT) else "",
    }
    if not job.finished:
        document["poll_after_s"] = 1 if job.status == Status.RUNNING else 2
    return document


# ---------------------------------------------------------------------------------------------
# The job kinds of Karte
# ---------------------------------------------------------------------------------------------

@job_kind("siting", time_limit_s=900, label="ひろばの配置検討")
def run_siting_task(job: JobContext, *, city: str, ward: str | None = None, kinds: list[str] | None = None,
                    walk_distance_m: float = 500, k: int = 5, solver: str = "greedy",
                    year: int | None = None) -> dict[str, Any]:
    """``karte.siting.run_siting`` as a job (greedy or exact); the result names the saved SitingRun.
    The exact solver gets the job's remaining time (less a margin to save the run) as its own limit."""
    from .siting import run_siting

    solver_limit = max(1.0, job.remaining_s * 0.9 - 5)
    run = run_siting(city, ward=ward, kinds=kinds, walk_distance_m=walk_distance_m, k=k, solver=solver,
                     year=year, progress=job.progress, time_limit_s=solver_limit, created_by=job.job.created_by)
    return {
        "siting_run": run.pk, "sites": len(run.chosen), "solver": run.solver, "k": run.k,
        "demand_total": run.demand_total, "covered_before": run.covered_before,
        "covered_after": run.covered_after, "gap": run.gap, "runtime_s": run.runtime_s,
    }


@job_kind("selftest", time_limit_s=60, label="worker self-test")
def worker_selftest(job: JobContext, *, seconds: float = 0.0) -> dict[str, Any]:
    """Shows a worker takes jobs (``manage.py worker_selftest``): waits ``seconds`` reporting progress,
    writes nothing, returns the worker that ran it."""
    steps = max(1, int(seconds * 10))
    for step in range(steps):
        job.progress(100 * step / steps, gettext_noop("待機中の自己診断"))
        time.sleep(seconds / steps)
    return {"worker": worker_id(), "slept_s": seconds}


def job_file(job: BackgroundJob, suffix: str) -> Path:
    """Where a job leaves a file for its requester (``/jobs/<id>/file``)."""
    return Path(settings.KARTE_JOB_FILES_DIR) / f"{job.public_id}{suffix}"


def _print_batch(job: JobContext, print_pdf: Callable[..., bytes], filename: str, districts: int) -> dict[str, Any]:
    """A batch of district karte (``print_pdf(progress=…)``) written beside the job; the file appears
    whole or not at all (written to a temporary name, then renamed)."""

    def pages(done: int, total: int) -> None:
        job.progress(90 * done / total, gettext_noop("地区のページを作っています"))

    pdf = print_pdf(progress=pages)
    job.progress(95, gettext_noop("PDFを保存しています"))
    path = job_file(job.job, ".pdf")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_bytes(pdf)
    partial.replace(path)
    return {"file": path.name, "filename": filename, "content_type": "application/pdf", "bytes": len(pdf),
            "districts": districts}


@job_kind("ward_pdf", time_limit_s=1800, label="区の印刷用カルテ")
def ward_pdf_task(job: JobContext, *, ward: str) -> dict[str, Any]:
    """Every district of a ward printed as one PDF (with a cover page)."""
    from .layers import get_ward
    from .printing.pdf import pdf_filename, ward_pdf

    target = get_ward(ward, parameter="ward")
    return _print_batch(job, lambda progress: ward_pdf(target, progress=progress), pdf_filename(ward=target),
                        target.districts.count())


@job_kind("city_pdf", time_limit_s=3600, label="市の印刷用カルテ")
def city_pdf_task(job: JobContext, *, city: str) -> dict[str, Any]:
    """Every district of a city printed as one PDF (with a cover page): a 市 without wards, or a
    whole city at once."""
    from .layers import get_city
    from .printing.pdf import city_pdf, pdf_filename

    target = get_city(city, parameter="city")
    return _print_batch(job, lambda progress: city_pdf(target, progress=progress), pdf_filename(city=target),
                        target.districts.count())


@job_kind("open_data", time_limit_s=7200, label="オープンデータの取得", own_transactions=True)
def open_data_task(job: JobContext, *, city: str, year: int = 2020, **options: Any) -> dict[str, Any]:
    """``karte.open_data.fetch_open_data`` as a job: downloads, then every load in one transaction
    (a failure leaves the database as it was), then the indicators computed; each line it prints is
    the job's progress message."""
    from loaders.errors import LoaderError

    from .open_data import fetch_open_data

    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        job.progress(min(95, 3 * len(lines)), line)

    try:
        result = fetch_open_data(city, year, progress=say, **options)
    except LoaderError as error:  # offline, a bad file…: its one line says what to do
        raise JobInputError(str(error)) from None
    return {"city": city, "year": year, "lines": lines[-200:],
            "downloads": len(getattr(result, "downloads", []) or []), "loads": len(getattr(result, "loads", []) or [])}
