"""Values typed by people or read from files: whole numbers, flags and preset fields, checked with one message each.

The same rules as the app's widgets (glass_app/inputs.py): a number may come as text ("5"), a flag as
"true"/"false", yes/no, on/off or 1/0, and a value that is not finite, of the wrong type or not a
whole number is refused with a message naming the field. Preset fields are checked against the
Preset and Operators dataclasses' own type hints, so a new field needs no new rule here.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any

from glass_core.errors import BadInputError

_YES = {"true", "yes", "on", "1"}
_NO = {"false", "no", "off", "0"}


def number(value: Any, name: str) -> float:
    """A finite number from a number or numeric text, or a refusal naming `name`."""
    if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
        raise BadInputError(f"{name} needs a number, got {value!r}.")
    if not isinstance(value, (int, float, str)):
        raise BadInputError(f"{name} must be a number, got {value!r}.")
    try:
        out = float(value)
    except OverflowError:  # an integer beyond float range
        raise BadInputError(f"{name} must be a finite number, got {str(value)[:20]}….") from None
    except ValueError:
        raise BadInputError(f"{name} must be a number, got {value!r}.") from None
    if not math.isfinite(out):
        raise BadInputError(f"{name} must be a finite number, got {value!r}.")
    return out


def whole(value: Any, name: str) -> int:
    """A whole number (5, 5.0 or "5"), or a refusal naming `name`: 2.5 is not rounded."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    out = number(value, name)
    if out != int(out):
        raise BadInputError(f"{name} must be a whole number, got {value!r}.")
    return int(out)


def flag(value: Any, name: str) -> bool:
    """True or false: a bool, or text / 0 / 1 as a JSON file or an API caller may write it."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _YES | _NO:
        return value.strip().lower() in _YES
    raise BadInputError(f"{name} must be true or false, got {value!r}.")


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise BadInputError(f"{name} must be text, got {value!r}.")
    return value


def typed(value: Any, hint: Any, name: str) -> Any:
    """`value` as the type `hint` says (int, bool, float, str, a Literal, X | None), or a refusal naming `name`."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return typed(value, inner, name)
    if typing.get_origin(hint) is typing.Literal:
        if value not in args:
            raise BadInputError(f"{name} must be one of {', '.join(map(str, args))}, got {value!r}.")
        return value
    rules = {bool: flag, int: whole, float: number, str: _text}
    if hint in rules:
        return rules[hint](value, name)
    return value  # dicts and other structured fields: the preset's own checks judge them


def preset_fields(data: dict[str, Any]) -> dict[str, Any]:
    """Preset field values from a file, each of its field's type; unknown names are left for Preset.replace."""
    from glass_core.presets import Operators, Preset

    hints = typing.get_type_hints(Preset)
    out = {}
    for name, value in data.items():
        if name == "operators" and isinstance(value, dict):
            out[name] = operator_fields(value)
        elif name == "operators":
            out[name] = _text(value, "operators")
        elif name in hints and hints[name] is not Operators:
            out[name] = typed(value, hints[name], name)
        else:
            out[name] = value
    return out


def operator_fields(data: dict[str, Any]) -> dict[str, Any]:
    """Operator settings from a file, each of its field's type; an unknown name is refused."""
    from glass_core.presets import Operators

    hints = typing.get_type_hints(Operators)
    unknown = sorted(set(data) - {f.name for f in dataclasses.fields(Operators)})
    if unknown:
        raise BadInputError(f"Unknown operator setting(s): {', '.join(map(str, unknown))}")
    return {name: typed(value, hints[name], f"operators.{name}") for name, value in data.items()}
