"""Validation of a ``POST generations/`` body before any job exists.

Order: the format (known, active), the missing required inputs (all of them at once), the mode
of formats that have modes, scalar parameter types, then every asset reference. Each failure is a
``400 invalid_argument`` whose details name the offending parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .assets import asset_problems
from .catalog import Format, find_format, format_by_slug
from .errors import invalid_argument
from .resources import Resource

_TEXT_PARAMS = frozenset(
    {
        "prompt",
        "script",
        "mode",
        "language",
        "aspect_ratio",
        "product_type",
        "product_description",
        "ad_format",
        "video_context",
        "preset",
        "tone",
        "style",
        "audience",
    }
)
_MAX_VARIATIONS = 10


@dataclass(frozen=True)
class GenerationRequest:
    """A validated generation: the format that runs, the mode that chose it, the parameters."""

    format: Format
    mode: str | None
    params: Mapping[str, Any]


def _is_missing(value: Any) -> bool:
    """Whether a required input counts as not given (absent, null, blank or empty)."""
    if isinstance(value, str):
        return not value.strip()
    return value is None or (isinstance(value, list | dict) and not value)


def _scalar_problem(name: str, value: Any) -> str | None:
    """Describe a wrongly typed scalar parameter; None when it is fine."""
    if name in _TEXT_PARAMS and not isinstance(value, str):
        return "must be a string"
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if name == "variations" and not (is_number and value == int(value) and 1 <= value <= _MAX_VARIATIONS):
        return f"must be an integer from 1 to {_MAX_VARIATIONS}"
    if name == "duration" and not (is_number and value > 0):
        return "must be a positive number"
    return None


def _resolve_format(body: Mapping[str, Any]) -> Format:
    """Find the requested format or reject the request."""
    name = body.get("format")
    if _is_missing(name):
        raise invalid_argument("format is required", missing=["format"])
    entry = find_format(name) if isinstance(name, str) else None
    if entry is None:
        raise invalid_argument(f"unknown format {name!r}; see GET formats/", parameter="format", value=name)
    if not entry.active:
        raise invalid_argument(f"format {entry.slug!r} is not active", parameter="format", value=name)
    return entry


def _run_as(entry: Format, mode: Any) -> Format:
    """Return the format a mode-driven format runs as (itself when it has no modes)."""
    if not entry.modes:
        return entry
    target = entry.modes.get(mode) if isinstance(mode, str) else None
    if target is None:
        raise invalid_argument(
            f"mode {mode!r} is not one of {sorted(entry.modes)}",
            parameter="mode",
            allowed=sorted(entry.modes),
        )
    return format_by_slug(target)


def parse_generation(body: Mapping[str, Any], find: Callable[[str], Resource | None]) -> GenerationRequest:
    """Validate a generation body against the catalog and the assets ``find`` can see."""
    requested = _resolve_format(body)
    params = {name: value for name, value in body.items() if name != "format"}
    missing = [name for name in requested.required_inputs if _is_missing(params.get(name))]
    if missing:
        raise invalid_argument(
            f"{requested.slug} needs {', '.join(missing)}", missing=missing, format=requested.slug
        )
    entry = _run_as(requested, params.get("mode"))
    for name, value in params.items():
        problem = _scalar_problem(name, value)
        if problem is not None:
            raise invalid_argument(f"parameter {name} {problem}", parameter=name)
    problems = asset_problems(entry, params, find)
    if problems:
        first = problems[0]
        raise invalid_argument(
            f"{first['parameter']}={first['id']!r} does not belong to {entry.slug} ({first['reason']})",
            parameter=first["parameter"],
            invalid=problems,
        )
    return GenerationRequest(entry, params["mode"] if requested.modes else None, params)
