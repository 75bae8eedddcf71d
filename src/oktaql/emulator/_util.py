"""Small deterministic helpers: Okta-style ids, timestamps and hashing.

Everything here is a pure function of its arguments (no wall clock, no global
``random``) so the emulated org is reproducible from its seed.
"""

from __future__ import annotations

import calendar
import random
import time
from typing import Any

ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ALNUM_INDEX = {c: i for i, c in enumerate(ALNUM)}

# Okta ids are 20 characters: a 3-character type prefix + 17 alphanumerics.
ID_LEN = 20

# 2024-01-01T00:00:00Z: every seeded timestamp is this base plus a seeded offset.
BASE_EPOCH = 1704067200
DAY = 86400
TEN_YEARS = 3650 * DAY

_MASK64 = (1 << 64) - 1


def okta_id(prefix: str, rng: random.Random) -> str:
    """A random-looking Okta id such as ``0oa1b2C3d4E5f6G7h8I9`` drawn from ``rng``."""
    return prefix + "".join(rng.choice(ALNUM) for _ in range(ID_LEN - len(prefix)))


def b62_encode(value: int, width: int) -> str:
    """Fixed-width base-62 encoding (most significant digit first)."""
    chars = []
    for _ in range(width):
        value, rem = divmod(value, 62)
        chars.append(ALNUM[rem])
    return "".join(reversed(chars))


def b62_decode(text: str) -> int | None:
    value = 0
    for ch in text:
        digit = _ALNUM_INDEX.get(ch)
        if digit is None:
            return None
        value = value * 62 + digit
    return value


def mix64(x: int) -> int:
    """splitmix64 finaliser: a fast, well-distributed 64-bit hash of an int.

    Used to derive per-token attributes from ``(app key, index)`` without
    keeping any per-token state (tokens are generated lazily).
    """
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def wide_hash(x: int, bits: int) -> int:
    """At least ``bits`` well-mixed bits derived from ``x`` (chained ``mix64``)."""
    out, k = 0, 0
    while k * 64 < bits:
        out = (out << 64) | mix64(x + k * 0x632BE59BD9B4E019)
        k += 1
    return out


def random_looking(x: int, width: int) -> str:
    """A deterministic, random-looking ``width``-character alphanumeric string."""
    return b62_encode(wide_hash(x, width * 6 + 64) % 62**width, width)


def iso(epoch_seconds: int) -> str:
    """Okta's timestamp format: ``2024-01-01T00:00:00.000Z`` (always UTC, millis)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(epoch_seconds))


def parse_iso(ts: str) -> int:
    """Epoch seconds of an Okta timestamp (``2024-01-01T00:00:00.000Z``; the millis dropped)."""
    return calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S"))


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Recursive dict merge (``override`` wins); lists and scalars are replaced."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


class IdPermutation:
    """Bijection between token indexes and 12-digit base-62 strings.

    Token ids must look random, yet the list cursor (the last token id) must
    map back to an index in O(1) without a lookup table, because an app can
    have a million lazily generated tokens. An affine map ``a*i + b mod 62^12``
    with ``a`` coprime to 62 is invertible and scrambles consecutive indexes.
    """

    WIDTH = 12
    MODULUS = 62**WIDTH

    def __init__(self, key: int):
        a = wide_hash(key, 128) % self.MODULUS | 1
        while a % 31 == 0:  # must be coprime with 62 = 2 * 31
            a += 2
        self.a = a
        self.a_inv = pow(a, -1, self.MODULUS)
        self.b = wide_hash(key ^ 0x5DEECE66D, 128) % self.MODULUS

    def encode(self, index: int) -> str:
        return b62_encode((self.a * index + self.b) % self.MODULUS, self.WIDTH)

    def decode(self, text: str) -> int | None:
        value = b62_decode(text)
        if value is None or len(text) != self.WIDTH:
            return None
        return ((value - self.b) * self.a_inv) % self.MODULUS
