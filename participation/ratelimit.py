"""Counting attempts per key in a time window, in Django's cache (no database writes).

Used for submissions per participant and for join attempts per client address. With several server
processes the cache must be shared (``CACHES`` pointing at one store; docs/deploy.md); the default
local-memory cache counts per process, which is what the embedded default runs (one process).
"""
from __future__ import annotations

from django.core.cache import cache


def allow(key: str, limit: int, window_s: int) -> bool:
    """Count one attempt under ``key``; False once more than ``limit`` fall in the current window."""
    name = f"participation:rate:{key}"
    if cache.add(name, 1, timeout=window_s):
        return 1 <= limit
    try:
        count = cache.incr(name)
    except ValueError:  # expired between add and incr
        cache.add(name, 1, timeout=window_s)
        count = 1
    return count <= limit


def over(key: str, limit: int) -> bool:
    """Whether ``key`` has already used up ``limit`` without counting another attempt."""
    return (cache.get(f"participation:rate:{key}") or 0) >= limit
