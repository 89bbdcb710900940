"""Progress bars for long loads: shown on a terminal, silent under ``--quiet``, in CI or in a pipe.

The importers' ``upsert`` reports progress through a context variable set for the duration of one
load, so the sixteen importers need not pass a bar around.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import IO

from tqdm import tqdm

_current: ContextVar[tuple[str, IO] | None] = ContextVar("karte_load_progress", default=None)

# Below this many rows a bar would only flicker.
MIN_ROWS = 2_000


def wanted(quiet: bool, stream: IO | None = None, environ: dict | None = None) -> bool:
    """A bar only for a person watching: not with ``--quiet``, not in CI, not into a file or pipe."""
    stream = sys.stderr if stream is None else stream
    environ = os.environ if environ is None else environ
    isatty = getattr(stream, "isatty", None)
    return not quiet and not environ.get("CI") and bool(isatty and isatty())


@contextmanager
def showing(label: str, enabled: bool, stream: IO | None = None) -> Iterator[None]:
    """While active, :func:`bar` draws bars labelled ``label`` on ``stream`` (stderr by default)."""
    token = _current.set((label, sys.stderr if stream is None else stream) if enabled else None)
    try:
        yield
    finally:
        _current.reset(token)


def bar(total: int, what: str) -> tqdm:
    """A bar over ``total`` rows of ``what`` (disabled unless a load asked for one and the work is long)."""
    current = _current.get()
    enabled = current is not None and total >= MIN_ROWS
    label, stream = current if current is not None else ("", sys.stderr)
    return tqdm(total=total, desc=f"{label} {what}".strip(), unit=" rows", disable=not enabled, file=stream,
                leave=False, mininterval=0.3, dynamic_ncols=True)
