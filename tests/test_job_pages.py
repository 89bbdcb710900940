"""Background work from the pages and commands: a ward's printed karte as a job (staff and
facilitators only), its progress page and file; fetch_open_data as a job that fails in one line."""
from __future__ import annotations

import socket
import subprocess

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission, User
from django.core.management import call_command

from karte.models import BackgroundJob
from karte.tasks import open_data_task

from .dbsnapshot import snapshot as full_snapshot
from .test_pages import build_sample_city


def snapshot() -> dict:
    """What the loaders write (the job's own bookkeeping row left out)."""
    state = full_snapshot()
    state["all_models"].pop("BackgroundJob", None)
    return state


@pytest.fixture
def staff(db):
    return User.objects.create_user("office", password="a-long-passphrase-9", is_staff=True)


def test_a_ward_batch_prints_in_the_background_for_staff(client, staff, tmp_path, settings):
    settings.KARTE_JOB_FILES_DIR = tmp_path
    build_sample_city()
    client.force_login(staff)
    page = client.get("/wards/14131/").content.decode()
    assert 'action="/wards/14131/karte-job"' in page
    response = client.post("/wards/14131/karte-job")
    job = BackgroundJob.objects.get(kind="ward_pdf")
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.public_id}/view"
    assert job.status == "done" and job.created_by == staff  # immediate mode in the tests
    status = client.get(f"/jobs/{job.public_id}/").json()
    assert status["progress"] == 100 and status["result"]["districts"] == 2
    assert client.get(f"/jobs/{job.public_id}/view").status_code == 200
    pdf = client.get(f"/jobs/{job.public_id}/file")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    body = b"".join(pdf.streaming_content)
    path = tmp_path / "ward.pdf"
    path.write_bytes(body)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "大師地区" in text and "田島地区" in text
    assert not list(tmp_path.glob("*.part"))  # written whole, then renamed


def test_facilitators_may_start_it_and_the_public_may_not(client, db, settings, tmp_path):
    settings.KARTE_JOB_FILES_DIR = tmp_path
    build_sample_city()
    before = {m.__name__: m.objects.count() for m in apps.get_app_config("karte").get_models()}
    assert "karte-job" not in client.get("/wards/14131/").content.decode()
    response = client.post("/wards/14131/karte-job")
    assert response.status_code == 302 and "/login" in response["Location"]
    assert {m.__name__: m.objects.count() for m in apps.get_app_config("karte").get_models()} == before
    assert not BackgroundJob.objects.exists()
    resident = User.objects.create_user("resident", password="a-long-passphrase-9")
    client.force_login(resident)
    client.post("/wards/14131/karte-job")
    assert not BackgroundJob.objects.exists()
    facilitator = User.objects.create_user("facilitator", password="a-long-passphrase-9")
    office = Group.objects.create(name="ward office")
    office.permissions.add(Permission.objects.get(codename="add_backgroundjob", content_type__app_label="karte"))
    facilitator.groups.add(office)
    client.force_login(facilitator)
    assert client.post("/wards/14131/karte-job").status_code == 302
    assert BackgroundJob.objects.get().status == "done"
    assert client.post("/wards/99999/karte-job").status_code == 404


def test_a_job_file_is_404_until_the_job_is_done(client, db):
    job = BackgroundJob.objects.create(kind="ward_pdf", time_limit_s=60, parameters={"ward": "14131"})
    assert client.get(f"/jobs/{job.public_id}/file").status_code == 404


def test_fetch_open_data_in_the_background_fails_in_one_line_and_changes_nothing(db, tmp_path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    before = snapshot()
    job = open_data_task.submit({"city": "14130", "year": 2020, "cache_dir": str(tmp_path), "base_url": closed,
                                 "timeout": 1})
    job.refresh_from_db()
    assert job.status == "failed" and "offline" in job.error and "\n" not in job.error
    assert snapshot() == before


def test_the_command_queues_the_job_when_asked(db, tmp_path, capsys):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    call_command("fetch_open_data", "--city", "14130", "--cache", str(tmp_path), "--base-url", closed,
                 "--timeout", "1", "--background")
    job = BackgroundJob.objects.get(kind="open_data")
    assert f"/jobs/{job.public_id}/view" in capsys.readouterr().out
    assert job.parameters["base_url"] == closed


def test_a_siting_is_queued_and_its_progress_page_leads_to_the_run(client, staff, settings, tmp_path):
    from karte import tasks

    build_sample_city()
    client.force_login(staff)
    form = {"kinds": ["vacant_house"], "walk_distance_m": "500", "k": "1", "solver": "greedy"}
    # With a real queue and no worker yet, the form leads to the job's progress page.
    settings.KARTE_TASKS_URL = f"sqlite:///{tmp_path / 'queue.sqlite3'}"
    try:
        response = client.post("/siting/", form)
        job = BackgroundJob.objects.get(kind="siting")
        assert job.status == "queued" and job.created_by == staff
        assert response["Location"] == f"/jobs/{job.public_id}/view"
        page = client.get(response["Location"]).content.decode()
        assert "ひろばの配置検討" in page and 'id="job-progress"' in page
        tasks.run_job(job.pk)  # what the worker does
    finally:
        settings.KARTE_TASKS_URL = "immediate"
    status = client.get(f"/jobs/{job.public_id}/").json()
    assert status["status"] == "done" and status["result"]["siting_run"]
    run = tasks.BackgroundJob.objects.get(pk=job.pk).result["siting_run"]
    from karte.models import SitingRun

    assert SitingRun.objects.get(pk=run).created_by == staff
    # Jobs run at once (as in the other tests): straight to the result.
    response = client.post("/siting/", form)
    assert response["Location"].startswith("/siting/?run=")
