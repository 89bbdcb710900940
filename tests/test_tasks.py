"""Background jobs (karte.tasks): the siting as a job with progress and result, the time cap, the
one-transaction rule, recovery after a worker died, the status endpoint, and real workers.

Most tests run jobs in huey's immediate mode (conftest): ``submit`` returns a finished job. The
``real worker`` tests start ``manage.py run_worker`` as a subprocess on a SpatiaLite file and a queue of
their own (an SQLite file; Redis too where one answers on 127.0.0.1:6379), bounded by timeouts.
"""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid

import pytest
from django.db import transaction
from django.urls import reverse

from karte import tasks
from karte.models import BackgroundJob, City, SitingRun

from .conftest import ROOT, copy_sqlite, run_manage, subprocess_env
from .test_siting_service import city, resource_id  # noqa: F401  (the hand-built city)

Status = BackgroundJob.Status


# ---------------------------------------------------------------------------------------------
# The siting job in immediate mode
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("solver", ["greedy", "exact"])
def test_siting_job_records_progress_and_result(city, monkeypatch, solver):  # noqa: F811
    seen = []
    record_progress = tasks.JobContext.progress

    def spy(self, percent, message=""):
        record_progress(self, percent, message)
        row = BackgroundJob.objects.get(pk=self.job.pk)
        seen.append((row.status, row.progress, row.message))

    monkeypatch.setattr(tasks.JobContext, "progress", spy)
    job = tasks.run_siting_task.submit({"city": "14130", "kinds": ["vacant_house", "park"], "k": 5, "solver": solver})
    assert job.status == Status.DONE, job.error
    assert job.progress == 100 and job.attempts == 1 and job.error == ""
    run = SitingRun.objects.get(pk=job.result["siting_run"])
    assert [site["resource_id"] for site in run.chosen] == [resource_id("空き家1"), resource_id("公園")]
    assert job.result == {"siting_run": run.pk, "sites": 2, "solver": solver, "k": 5, "demand_total": 295.0,
                          "covered_before": 120.0, "covered_after": 295.0, "gap": run.gap,
                          "runtime_s": run.runtime_s}
    # Each stage was written to the row while the job ran, in order.
    assert [progress for _, progress, _ in seen] == [5, 35, 45, 90]
    assert {status for status, _, _ in seen} == {Status.RUNNING}
    assert seen[2][2] == "配置を最適化しています"


def test_siting_job_with_bad_input_fails_with_the_reason_and_saves_nothing(city):  # noqa: F811
    job = tasks.run_siting_task.submit({"city": "14130", "kinds": ["castle"]})
    assert job.status == Status.FAILED
    assert "unknown resource kind(s) castle" in job.error
    assert "Traceback" not in job.error
    assert not SitingRun.objects.exists()


def test_time_cap_stops_the_job_with_a_clear_message(city, settings):  # noqa: F811
    settings.KARTE_TASK_TIME_LIMITS = {"siting": 0.001}
    job = tasks.run_siting_task.submit({"city": "14130", "kinds": ["vacant_house", "park"], "solver": "exact"})
    assert job.status == Status.TIMED_OUT
    assert job.time_limit_s == 0.001
    assert job.error.startswith("stopped after its time cap of 0 s; nothing was saved.")
    assert "KARTE_TASK_TIME_LIMITS for siting" in job.error
    assert job.message == "時間切れで停止しました"
    assert not SitingRun.objects.exists()


def test_parameters_must_be_json(db):
    with pytest.raises(tasks.JobInputError, match="parameters must be JSON"):
        tasks.run_siting_task.submit({"city": City(code="14130")})
    assert not BackgroundJob.objects.exists()


# ---------------------------------------------------------------------------------------------
# Job kinds of the tests: the rules every body runs under
# ---------------------------------------------------------------------------------------------

@pytest.fixture
def test_kind():
    """Registers job kinds for one test (immediate mode runs them in this process)."""
    names = []

    def register(name, body, time_limit_s=30):
        names.append(name)
        return tasks.job_kind(name, time_limit_s=time_limit_s)(body)

    yield register
    for name in names:
        tasks.KINDS.pop(name, None)


def _city(code, name):
    return City.objects.create(code=code, name_ja=name)


def test_a_job_that_fails_inside_its_transaction_leaves_nothing(db, test_kind):
    def body(job):
        with transaction.atomic():
            _city("99001", "一")
            _city("99002", "二")
            raise RuntimeError("disk full")

    job = test_kind("test_half", body).submit()
    assert job.status == Status.FAILED
    assert "internal error in the test_half job; nothing was saved" in job.error and "disk full" not in job.error
    assert not City.objects.filter(code__startswith="990").exists()


def test_a_write_outside_a_transaction_is_refused_before_it_happens(db, test_kind):
    def body(job):
        _city("99003", "外")

    job = test_kind("test_outside", body).submit()
    assert job.status == Status.FAILED
    assert job.error.startswith("the test_outside job wrote outside a transaction; a job writes in one "
                                "transaction.atomic() block")
    assert not City.objects.filter(code="99003").exists()


def test_a_write_in_a_second_transaction_fails_the_job(db, test_kind):
    def body(job):
        with transaction.atomic():
            _city("99004", "一")
        with transaction.atomic():
            _city("99005", "二")

    job = test_kind("test_twice", body).submit()
    assert job.status == Status.FAILED
    assert "wrote in a second transaction" in job.error
    assert not City.objects.filter(code="99005").exists()


def test_a_job_writing_in_one_transaction_with_nested_blocks_is_done(db, test_kind):
    def body(job):
        job.progress(50, "書いています")
        with transaction.atomic():
            _city("99006", "一")
            with transaction.atomic():  # a load's own block inside the job's: a savepoint
                _city("99007", "二")
        return {"cities": 2}

    job = test_kind("test_nested", body).submit()
    assert job.status == Status.DONE and job.result == {"cities": 2}
    assert City.objects.filter(code__in=["99006", "99007"]).count() == 2


def test_the_time_cap_interrupts_a_body_that_never_reports(db, test_kind):
    """SIGALRM in the main thread (as in the worker's processes): no progress call needed."""
    def body(job):
        with transaction.atomic():
            _city("99008", "遅")
            time.sleep(30)

    job = test_kind("test_sleeper", body, time_limit_s=0.3).submit()
    assert job.status == Status.TIMED_OUT
    assert not City.objects.filter(code="99008").exists()


def test_the_time_cap_never_breaks_the_connection_mid_query(db, test_kind):
    """A body busy in the database when its cap passes: stopped between statements, the connection
    (here the test's own transaction) still usable afterwards."""
    def body(job):
        with transaction.atomic():
            _city("99009", "忙")
            while True:
                City.objects.filter(code__startswith="99").count()

    job = test_kind("test_busy", body, time_limit_s=0.3).submit()
    assert job.status == Status.TIMED_OUT
    assert not City.objects.filter(code="99009").exists()


def test_unknown_kind_fails_the_job(db):
    job = BackgroundJob.objects.create(kind="no_such_kind", time_limit_s=10)
    tasks.enqueue(job.pk)
    job.refresh_from_db()
    assert job.status == Status.FAILED and "unknown job kind 'no_such_kind'" in job.error


def test_a_finished_job_is_not_run_again(db, test_kind):
    calls = []
    kind = test_kind("test_once", lambda job: calls.append(1))
    job = kind.submit()
    tasks.enqueue(job.pk)  # a duplicate message (e.g. recovery racing a submit)
    assert job.status == Status.DONE and calls == [1]


# ---------------------------------------------------------------------------------------------
# Recovery after a worker died
# ---------------------------------------------------------------------------------------------

def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_recovery_runs_again_a_job_whose_worker_died(db, test_kind):
    kind = test_kind("test_recover", lambda job: {"ran": True})
    job = BackgroundJob.objects.create(kind=kind.name, time_limit_s=10, status=Status.RUNNING, attempts=1,
                                       worker=f"{tasks.socket.gethostname()}:{_dead_pid()}", progress=40)
    alive = BackgroundJob.objects.create(kind=kind.name, time_limit_s=10, status=Status.RUNNING, attempts=1,
                                         worker=tasks.worker_id())  # this very process: still running it
    elsewhere = BackgroundJob.objects.create(kind=kind.name, time_limit_s=10, status=Status.RUNNING, attempts=1,
                                             worker="another-host:1")
    report = tasks.recover_jobs()
    assert report.requeued == [job.pk] and report.failed == []
    job.refresh_from_db()
    assert job.status == Status.DONE and job.attempts == 2 and job.result == {"ran": True}  # immediate: run now
    alive.refresh_from_db()
    elsewhere.refresh_from_db()
    assert alive.status == elsewhere.status == Status.RUNNING


def test_recovery_gives_up_after_max_attempts(db, settings, test_kind):
    settings.KARTE_TASK_MAX_ATTEMPTS = 2
    kind = test_kind("test_give_up", lambda job: None)
    job = BackgroundJob.objects.create(kind=kind.name, time_limit_s=10, status=Status.RUNNING, attempts=2,
                                       worker=f"{tasks.socket.gethostname()}:{_dead_pid()}")
    assert tasks.recover_jobs().failed == [job.pk]
    job.refresh_from_db()
    assert job.status == Status.FAILED and "stopped 2 times before it finished" in job.error


# ---------------------------------------------------------------------------------------------
# The status endpoint
# ---------------------------------------------------------------------------------------------

def test_job_status_endpoint(city, client):  # noqa: F811
    job = tasks.run_siting_task.submit({"city": "14130", "kinds": ["vacant_house", "park"]})
    response = client.get(reverse("job-status", args=[job.public_id]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    document = response.json()
    assert document["id"] == str(job.public_id) and document["kind"] == "siting"
    assert document["status"] == "done" and document["finished"] is True and document["progress"] == 100
    assert document["result"]["siting_run"] == SitingRun.objects.get().pk
    assert document["error"] == "" and "poll_after_s" not in document
    assert document["message"] == "Done"  # translated from 完了しました
    assert set(document) == {"id", "kind", "status", "finished", "progress", "message", "attempts", "time_limit_s",
                             "created_at", "started_at", "finished_at", "result", "error"}


def test_job_status_while_queued_and_failed(db, client):
    queued = BackgroundJob.objects.create(kind="siting", time_limit_s=900, message="順番を待っています")
    document = client.get(reverse("job-status", args=[queued.public_id])).json()
    assert document["status"] == "queued" and document["finished"] is False and document["result"] is None
    assert document["poll_after_s"] == 2 and document["message"] == "順番を待っています"
    failed = BackgroundJob.objects.create(kind="siting", time_limit_s=900, status=Status.FAILED, error="no city")
    assert client.get(reverse("job-status", args=[failed.public_id])).json()["error"] == "no city"


def test_job_status_of_an_unknown_job_is_404_json(db, client):
    response = client.get(reverse("job-status", args=[uuid.uuid4()]))
    assert response.status_code == 404 and response.json() == {"error": "no such job"}
    assert client.post(reverse("job-status", args=[uuid.uuid4()])).status_code == 405
    assert client.get("/jobs/1/").status_code == 404  # ids are UUIDs, never counters


# ---------------------------------------------------------------------------------------------
# Real workers
# ---------------------------------------------------------------------------------------------

def _redis_answers() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_connect_timeout=1).ping())
    except Exception:
        return False


@pytest.fixture
def worker_setup(request, demo_sqlite_file, tmp_path):
    """A copy of the demo SpatiaLite file and a queue of this test's own (an SQLite file, or Redis when
    parametrized so), as the environment of ``manage.py`` subprocesses."""
    storage = getattr(request, "param", "sqlite")
    if storage == "redis" and not _redis_answers():
        pytest.skip("no Redis on 127.0.0.1:6379 (the machine's service)")
    database = copy_sqlite(demo_sqlite_file, tmp_path / "karte.sqlite3")
    queue_url = (f"sqlite:///{tmp_path / 'tasks.sqlite3'}" if storage == "sqlite"
                 else "redis://127.0.0.1:6379/0")
    env = subprocess_env(DATABASE_URL=f"spatialite:///{database}", KARTE_VAR_DIR=str(demo_sqlite_file.parent),
                         KARTE_TASKS_URL=queue_url, KARTE_TASKS_QUEUE=f"karte-test-{uuid.uuid4().hex[:12]}")
    return database, env


def _submit(env, kind: str, parameters: dict) -> int:
    result = run_manage("shell", "-c", (
        "from karte import tasks\n"
        f"print('JOB', tasks.KINDS[{kind!r}].submit({parameters!r}).pk)\n"
    ), env=env)
    assert result.returncode == 0, result.stderr
    return int(result.stdout.split("JOB")[1].split()[0])


def _row(database, job_pk: int) -> dict:
    with sqlite3.connect(database) as connection:
        connection.row_factory = sqlite3.Row
        row = connection.execute("SELECT * FROM karte_backgroundjob WHERE id = ?", (job_pk,)).fetchone()
        return dict(row)


def _wait_for(database, job_pk: int, statuses: set[str], timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = _row(database, job_pk)
        if row["status"] in statuses:
            return row
        time.sleep(0.1)
    raise AssertionError(f"job {job_pk} still {_row(database, job_pk)['status']} after {timeout} s")


class Worker:
    def __init__(self, env, log_path):
        self.log_path = log_path
        self.log = open(log_path, "a")
        self.process = subprocess.Popen([sys.executable, "manage.py", "run_worker"], cwd=ROOT, env=env,
                                        stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def kill(self):
        """SIGKILL the worker and its processes at once, as a crash or an OOM kill would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text()


@pytest.fixture
def start_worker(tmp_path):
    workers = []

    def start(env):
        worker = Worker(env, tmp_path / "worker.log")
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


@pytest.mark.slow
@pytest.mark.parametrize("worker_setup", ["sqlite", "redis"], indirect=True)
def test_a_job_queued_while_no_worker_runs_is_done_when_one_starts(worker_setup, start_worker):
    database, env = worker_setup
    job_pk = _submit(env, "siting", {"city": "14130", "ward": "14133", "k": 3, "solver": "exact"})
    assert _row(database, job_pk)["status"] == "queued"
    worker = start_worker(env)
    row = _wait_for(database, job_pk, {"done", "failed", "timed_out"})
    assert row["status"] == "done", (row["error"], worker.output())
    assert row["progress"] == 100 and row["attempts"] == 1
    with sqlite3.connect(database) as connection:
        solver, ward = connection.execute(
            "SELECT r.solver, w.code FROM karte_sitingrun r JOIN karte_ward w ON w.id = r.ward_id WHERE r.id = ?",
            (json.loads(row["result"])["siting_run"],)).fetchone()
    assert (solver, ward) == ("exact", "14133")
    assert "run_worker: queue" in worker.output()


@pytest.mark.slow
def test_a_job_interrupted_by_a_killed_worker_runs_again_after_restart(worker_setup, start_worker):
    database, env = worker_setup
    job_pk = _submit(env, "selftest", {"seconds": 3})
    first = start_worker(env)
    running = _wait_for(database, job_pk, {"running", "done"}, timeout=60)
    assert running["status"] == "running", "the job finished before the worker could be killed"
    first.kill()  # mid-run, no chance to clean up
    assert _row(database, job_pk)["status"] == "running"
    second = start_worker(env)
    row = _wait_for(database, job_pk, {"done", "failed", "timed_out"}, timeout=60)
    assert row["status"] == "done", (row["error"], second.output())
    assert row["attempts"] == 2
    assert "1 interrupted jobs queued again" in second.output()


@pytest.mark.slow
def test_worker_selftest_command(worker_setup, start_worker):
    database, env = worker_setup
    nobody = run_manage("worker_selftest", "--wait", "1", env=env)
    assert nobody.returncode == 1 and "no worker takes jobs" in nobody.stderr
    start_worker(env)
    result = run_manage("worker_selftest", "--wait", "60", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("worker_selftest: job ") and " run by " in result.stdout
