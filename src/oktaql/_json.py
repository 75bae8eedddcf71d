"""Decoding API responses: orjson where it is installed, the standard library otherwise.

Decoding JSON is the largest single cost of a read on the client (about a third of its CPU
with the standard library's decoder); orjson builds the same objects in a little over half the
time. It refuses a few things the standard library reads (NaN, a byte string that is not
UTF-8), and it reads an integer wider than 64 bits as a float; those bodies go to
``json.loads``, so what a response decodes to never depends on which decoder ran.
"""

from __future__ import annotations

import json
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - a platform without an orjson wheel
    orjson = None  # type: ignore[assignment]


# every digit becomes "0", everything else " ": a run of 19 zeros is a number orjson may not
# keep exact (beyond 64 bits), or 19 digits inside a string; either way json.loads decides
_DIGITS = bytes(48 if 48 <= i <= 57 else 32 for i in range(256))
_LONG_RUN = b"0" * 19


def loads(data: bytes | str) -> Any:
    if orjson is not None:
        raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
        if _LONG_RUN not in raw.translate(_DIGITS):  # C-level: ~1 us per kB
            try:
                return orjson.loads(raw)
            except orjson.JSONDecodeError:
                pass  # NaN, not UTF-8, or invalid: the standard library reads it or says why
    return json.loads(data)


__all__ = ["loads"]
