"""How the ``airflow clipgen`` commands print: Airflow's console and ``--output`` formats, API types kept.

Lists print one row per item; a single object prints as ``property_name`` / ``property_value`` rows
in ``table`` and ``plain`` (nested fields as dotted names, like ``balance.credits``) and as a
one-item list in ``json`` and ``yaml`` — the shapes ``airflow dags details`` and ``airflow
connections get`` print. Unlike ``AirflowConsole.print_as``, which turns every value into a
string, ``json`` and ``yaml`` keep the API's numbers, booleans, nulls, lists and objects, so a
script reads ``credits`` as a number.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from airflow.cli.simple_table import AirflowConsole

#: the values of Airflow's ``--output`` argument
OUTPUT_FORMATS = ("table", "json", "yaml", "plain")


def _is_plain(value: Any) -> bool:
    return not isinstance(value, (Mapping, list, tuple))


def table_cell(value: Any) -> str:
    """One value as table text: nothing for null, ``a, b`` for a list of plain values, compact JSON
    for anything nested."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and all(_is_plain(item) for item in value):
        return ", ".join(table_cell(item) for item in value)
    if not _is_plain(value):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return str(value)


def flatten(obj: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``obj`` spread into dotted names: ``{"balance": {"credits": 5}}`` → ``{"balance.credits": 5}``.

    Lists holding objects spread by index (``output.images.0.url``); lists of plain values and
    empty objects stay one value.
    """
    flat: dict[str, Any] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, (list, tuple)) and not all(_is_plain(item) for item in value):
            value = {str(index): item for index, item in enumerate(value)}
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def object_rows(obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A single object as ``property_name`` / ``property_value`` rows, nested fields dotted."""
    return [{"property_name": name, "property_value": value} for name, value in flatten(obj).items()]


def print_rows(rows: Sequence[Mapping[str, Any]], output: str, console: AirflowConsole | None = None) -> None:
    """Print ``rows`` (dicts with the same keys) in ``output``, one of :data:`OUTPUT_FORMATS`."""
    if output not in OUTPUT_FORMATS:
        raise ValueError(f"Unknown output format {output!r}; use one of {', '.join(OUTPUT_FORMATS)}")
    console = console or AirflowConsole()
    data: list[Any] = [dict(row) for row in rows]
    if output == "json":
        console.print_as_json(data)  # type: ignore[arg-type]  # Airflow's hint says dict; any JSON works
    elif output == "yaml":
        console.print_as_yaml(data)  # type: ignore[arg-type]
    else:
        cells = [{key: table_cell(value) for key, value in row.items()} for row in data]
        if output == "table":
            console.print_as_table(cells)
        else:
            console.print_as_plain_table(cells)


def print_object(obj: Mapping[str, Any], output: str, console: AirflowConsole | None = None) -> None:
    """Print one object: property rows in ``table``/``plain``, a one-item list in ``json``/``yaml``."""
    if output in ("table", "plain"):
        print_rows(object_rows(obj), output, console)
    else:
        print_rows([obj], output, console)


def one_line(message: object) -> str:
    """``message`` on one line: an error printed by a command must never span lines."""
    return " ".join(str(message).split())
