"""Strict JSON out: what glass writes parses with any JSON reader (no NaN or Infinity tokens)."""

from __future__ import annotations

import json
import math
from typing import Any


def finite(value: Any) -> Any:
    """`value` with every non-finite float (NaN, ±Infinity) replaced by None, in nested dicts, lists and tuples."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def dumps(value: Any, **kwargs: Any) -> str:
    """json.dumps of `value` with non-finite numbers as null, refusing to write NaN or Infinity tokens."""
    return json.dumps(finite(value), allow_nan=False, **kwargs)
