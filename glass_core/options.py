"""Speed options: chosen when a component is built, never flipped on one that others share.

A component (scorer or generator) lists its options in `speed_options`; `with_options` gives a
new component over the same network weights with some of them changed. The pipeline's cache
keeps one component per set of options, so what one app session or benchmark asks for never
changes what another one runs.
"""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")


def check_options(component: Any, options: dict[str, Any]) -> None:
    """Refuse options that `component` does not have, naming the ones it does."""
    unknown = sorted(set(options) - set(component.speed_options))
    if unknown:
        known = ", ".join(component.speed_options) or "none"
        raise ValueError(f"{type(component).__name__} has no option {', '.join(unknown)}; its options: {known}")


def apply_options(component: T, **options: Any) -> T:
    """`component.with_options` with only the options it has; the others are not its concern."""
    wanted = {k: v for k, v in options.items() if k in component.speed_options}
    return component.with_options(**wanted) if wanted else component
