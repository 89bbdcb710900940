"""Who may change what karte stores through its pages: running a ひろば siting and publishing a run.

Rights are Django permissions (``karte.add_sitingrun``, ``karte.publish_sitingrun``,
``karte.add_backgroundjob`` for other background work such as a ward's PDF batch), given to a
group (e.g. the facilitators) or a user in the admin; staff may always. A client that is not logged
in has none. One place, so the views and the templates ask the same question.
"""
from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User


def may_run_siting(user: User | AnonymousUser) -> bool:
    return bool(user.is_authenticated and user.is_active and (user.is_staff or user.has_perm("karte.add_sitingrun")))


def may_publish_siting(user: User | AnonymousUser) -> bool:
    return bool(user.is_authenticated and user.is_active
                and (user.is_staff or user.has_perm("karte.publish_sitingrun")))


def may_run_jobs(user: User | AnonymousUser) -> bool:
    """Start background work other than a siting (a ward's printed karte)."""
    return bool(user.is_authenticated and user.is_active
                and (user.is_staff or user.has_perm("karte.add_backgroundjob")))
