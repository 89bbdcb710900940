"""Is this Karte able to serve? The checks behind ``/healthz`` (and ``make serve``'s start).

Each check answers ``Check(name, ok, detail)``; ``detail`` says what is wrong and what to run, for an
operator reading a monitor, without hosts, users or error texts that could carry them (those go to
the log). The checks:

- ``database``: a connection answers ``SELECT 1``;
- ``migrations``: every migration is applied (Django's migration plan is empty), else every page
  that reads a missing table answers 500;
- ``static``: in production, ``collectstatic``'s manifest exists and names the pages' files, else
  every page answers 500 when it links a stylesheet;
- ``task_queue``: the queue's storage answers (an SQLite file, Redis or PostgreSQL); its detail also
  tells how many jobs wait and for how long (a long wait means no worker runs; that does not fail
  the check: pages still work, a load balancer must not take the site out for it).

Neighbours: ``karte.views.ops.healthz`` answers them as JSON; ``karte.tasks`` owns the queue.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

logger = logging.getLogger(__name__)

# Files every page links: the manifest must know them.
PAGE_STATIC_FILES = ("karte/karte.css", "karte/common.js", "vendor/leaflet-1.9.4/leaflet.js")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def _failed(name: str, what: str, error: BaseException) -> Check:
    logger.error("health check %s: %s: %s", name, what, error)
    return Check(name, False, f"{what} ({type(error).__name__}; the server log has the error)")


def check_database(alias: str = DEFAULT_DB_ALIAS) -> Check:
    connection = connections[alias]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # any driver error means: not reachable
        return _failed("database", f"{connection.vendor} database unreachable", error)
    return Check("database", True, f"{connection.vendor} reachable")


def check_migrations(alias: str = DEFAULT_DB_ALIAS) -> Check:
    try:
        executor = MigrationExecutor(connections[alias])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as error:
        return _failed("migrations", "cannot read the applied migrations", error)
    if plan:
        first = plan[0][0]
        return Check("migrations", False, f"{len(plan)} migrations not applied (first {first.app_label}."
                                          f"{first.name}): run manage.py migrate")
    return Check("migrations", True, "all applied")


def check_static() -> Check:
    storage = staticfiles_storage
    if not isinstance(storage, ManifestFilesMixin):
        return Check("static", True, "served from the apps' folders (development)")
    manifest = storage.manifest_name
    try:
        if not storage.exists(manifest):
            return Check("static", False, f"{manifest} missing in STATIC_ROOT: run manage.py collectstatic")
        with storage.open(manifest) as handle:
            paths = json.loads(handle.read().decode()).get("paths", {})
    except Exception as error:
        return _failed("static", f"{manifest} unreadable: run manage.py collectstatic", error)
    missing = [name for name in PAGE_STATIC_FILES if name not in paths]
    if missing:
        return Check("static", False, f"{manifest} lacks {', '.join(missing)}: run manage.py collectstatic")
    return Check("static", True, f"{len(paths)} files in {manifest}")


def check_task_queue() -> Check:
    from . import tasks
    from .models import BackgroundJob

    where = tasks.queue_description()
    try:
        huey = tasks.queue()
        if huey.immediate:
            return Check("task_queue", True, "immediate: jobs run in the process that submits them")
        waiting = huey.pending_count()
    except Exception as error:
        return _failed("task_queue", f"queue {where} unreachable", error)
    detail = f"{where}: {waiting} waiting"
    try:
        oldest = (BackgroundJob.objects.filter(status=BackgroundJob.Status.QUEUED)
                  .order_by("created_at").values_list("created_at", flat=True).first())
    except Exception:  # the database check says what is wrong with the database
        oldest = None
    if oldest is not None:
        detail += f", oldest queued {int((timezone.now() - oldest).total_seconds())} s ago"
    return Check("task_queue", True, detail)


def run_checks() -> list[Check]:
    database = check_database()
    checks = [database]
    # Without a database the migration state cannot be read: say so once, not twice.
    checks.append(check_migrations() if database.ok else Check("migrations", False, "database unreachable"))
    checks.append(check_static())
    checks.append(check_task_queue())
    return checks


def report() -> tuple[bool, dict]:
    """(healthy, the JSON document ``/healthz`` answers)."""
    checks = run_checks()
    healthy = all(check.ok for check in checks)
    connection = connections[DEFAULT_DB_ALIAS]
    return healthy, {
        "status": "ok" if healthy else "fail",
        "mode": "production" if getattr(settings, "PRODUCTION", False) else "development",
        "database": connection.vendor,
        "engine": connection.settings_dict["ENGINE"],
        "checks": {check.name: {"ok": check.ok, "detail": check.detail} for check in checks},
    }
