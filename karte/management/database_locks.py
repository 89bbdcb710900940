"""A writer that could not get the embedded database's write lock in time, as one line that says what to do.

SQLite (the embedded default) has one writer at a time; a second writer waits up to
``KARTE_SQLITE_TIMEOUT`` seconds (settings.sqlite_options) and then fails with ``OperationalError:
database is locked``. The commands that write wrap their work in :func:`lock_timeout_as_command_error`
so the operator reads the reason and the remedy instead of a traceback. Their writes are one
transaction, so nothing was changed.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.management.base import CommandError
from django.db import OperationalError, connection


@contextmanager
def lock_timeout_as_command_error(command: str) -> Iterator[None]:
    try:
        yield
    except OperationalError as error:
        if connection.vendor != "sqlite" or "locked" not in str(error):
            raise
        timeout = connection.settings_dict.get("OPTIONS", {}).get("timeout", 5)
        raise CommandError(
            f"{command}: the database was locked by another writer for longer than {timeout:g} s; nothing was "
            f"changed. Run it again when the other load, compute or job has finished (or raise "
            f"KARTE_SQLITE_TIMEOUT); for many writers at once use PostGIS (docs/deploy.md)."
        ) from None
