"""Counting attempts per key in a time window, in Django's cache (no database writes).

Used for submissions per participant and for join attempts per client address. The cache is the
project's (``KARTE_CACHE_URL``): Redis in production counts atomically across worker processes; the
embedded default's file cache is shared by the workers too, but its increments are not atomic, so
under concurrent attempts the count may fall a little short — a limit against floods, not an exact
quota.
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
