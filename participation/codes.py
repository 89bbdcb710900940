"""Join codes: what a resident types (or a QR code carries) to join a workshop.

Ten characters drawn with :mod:`secrets` from 31 symbols that cannot be confused when read aloud or
copied from paper (no 0/O, 1/I/L, no lower case): 31**10 ≈ 2**49.5 codes, so guessing one is out of
reach, all the more as failed attempts are rate-limited. Shown as ``ABCDE-FGHJK``; typed in any case,
with or without the dash or spaces.
"""
from __future__ import annotations

import math
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 10
BITS = LENGTH * math.log2(len(ALPHABET))


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise(text: str) -> str:
    """What a person typed, as a stored code: upper case, without dashes and spaces ('' if not a code)."""
    cleaned = "".join(ch for ch in str(text or "").upper() if ch not in "- \u3000\t")
    if len(cleaned) != LENGTH or any(ch not in ALPHABET for ch in cleaned):
        return ""
    return cleaned


def display(code: str) -> str:
    return f"{code[:5]}-{code[5:]}" if code else ""
