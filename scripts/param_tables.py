"""Write the parameter tables of the docs from the classes themselves: one source of truth.

Every public operator, sensor and trigger (the classes ``get_provider_info()`` lists) has one table,
between ``<!-- params:ClassName -->`` and ``<!-- /params -->`` in any page under ``docs/``. A table
lists every argument of the class and of the provider's classes it inherits from, and for a sensor
every argument of Airflow's ``BaseSensorOperator``; the generic ``BaseOperator`` arguments
(``task_id``, ``retries``, ...) are left to Airflow's own reference, which the table links to. For
each argument: its type and default from the ``__init__`` signature (a default read from the Airflow
config is shown as ``[section] key``), whether it is in ``template_fields``, and its ``:param:``
text from the nearest class docstring that has one.

    .venv/bin/python scripts/param_tables.py           # rewrite the tables in place
    .venv/bin/python scripts/param_tables.py --check   # list the pages that are out of date, exit 1

``tests/docs/test_docs_params.py`` runs the check.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import re
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
COMMAND = ".venv/bin/python scripts/param_tables.py"
#: one generated region: its class name and its body
REGION = re.compile(r"(<!-- params:(\w+) -->\n)(.*?)(<!-- /params -->)", re.S)
#: one generated table of the keys of a result type of :mod:`clipgen_provider.results`
RESULTS_REGION = re.compile(r"(<!-- results:(\w+) -->\n)(.*?)(<!-- /results -->)", re.S)
BASE_OPERATOR_DOCS = "https://airflow.apache.org/docs/task-sdk/stable/api.html#airflow.sdk.BaseOperator"
UNDOCUMENTED = "*(undocumented)*"

#: arguments a class's signature inherits but refuses, with where the docs say so
REFUSED: dict[str, set[str]] = {
    # the extract-url API takes no idempotency key; the operator raises when one is given
    "ClipwiseExtractUrlOperator": {"idempotency_key"},
}
#: BaseSensorOperator's arguments, said for these sensors (Airflow's docstrings are long and generic)
SENSOR_ARGUMENTS: dict[str, str] = {
    "poke_interval": "seconds (or `timedelta`) between two status reads; in deferrable mode the "
    "trigger's poll interval",
    "timeout": "longest wait, seconds or `timedelta`, counted from the first poke; then the sensor "
    "fails (or is skipped with `soft_fail`)",
    "soft_fail": "mark the task skipped instead of failed when the wait times out or fails",
    "mode": "`poke` holds a worker slot between reads, `reschedule` frees it; `deferrable=True` waits "
    "in the triggerer instead",
    "exponential_backoff": "lengthen the pause after every read that found the job still running",
    "max_wait": "longest pause between reads with `exponential_backoff`, seconds or `timedelta`",
    "silent_fail": "log an unexpected error of a read and keep waiting instead of failing",
    "never_fail": "mark the task skipped instead of failed on any error (not with `soft_fail`)",
}
#: defaults Airflow computes at run time rather than in the signature
COMPUTED_DEFAULTS: dict[tuple[str, str], str] = {
    ("BaseSensorOperator", "timeout"): "`[sensors] default_timeout` (7 days)",
}


@dataclass(frozen=True)
class Param:
    """One row of a table."""

    name: str
    type: str
    default: str
    templated: bool
    meaning: str


def public_classes() -> dict[str, type]:
    """Every public operator, sensor and trigger class of the provider, by name."""
    from airflow.sdk import BaseOperator
    from airflow.triggers.base import BaseTrigger

    from clipgen_provider.get_provider_info import get_provider_info

    info = get_provider_info()
    found: dict[str, type] = {}
    for section in ("operators", "sensors", "triggers"):
        for entry in info[section]:
            for module_name in entry["python-modules"]:
                for name, obj in vars(importlib.import_module(module_name)).items():
                    if (
                        inspect.isclass(obj)
                        and obj.__module__.startswith("clipgen_provider.")
                        and not name.startswith("_")
                        and issubclass(obj, BaseOperator | BaseTrigger)
                        and not inspect.isabstract(obj)
                    ):
                        found[name] = obj
    return dict(sorted(found.items()))


# -- reading the classes ---------------------------------------------------------------------------
def _is_airflows(klass: type) -> bool:
    return klass.__module__.split(".")[0] == "airflow"


def documented_bases(cls: type) -> list[type]:
    """The classes whose ``__init__`` arguments the table lists: ``cls`` and the operator or trigger
    classes it inherits from, except Airflow's own, but including ``BaseSensorOperator``."""
    from airflow.sdk import BaseOperator, BaseSensorOperator
    from airflow.triggers.base import BaseTrigger

    return [
        klass
        for klass in cls.__mro__
        if "__init__" in vars(klass)
        and issubclass(klass, BaseOperator | BaseTrigger)
        and (not _is_airflows(klass) or klass is BaseSensorOperator)
    ]


def _param_docs(cls: type) -> dict[str, str]:
    """``:param name: text`` of the docstrings of ``cls`` and its bases; the nearest class's text wins.

    Airflow's own docstrings are not read: their arguments are described by :data:`SENSOR_ARGUMENTS`.
    """
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if _is_airflows(klass):
            continue
        text = inspect.cleandoc(vars(klass).get("__doc__") or "")
        for match in re.finditer(r"^:param (\w+):(.*?)(?=^:|^\S|\Z)", text, re.M | re.S):
            docs[match.group(1)] = " ".join(match.group(2).split())
    return docs


def _default_expressions(klass: type) -> dict[str, ast.expr]:
    """The default of each keyword argument of ``klass.__init__`` as written in the source."""
    source = textwrap.dedent(inspect.getsource(vars(klass)["__init__"]))
    function = ast.parse(source).body[0]
    assert isinstance(function, ast.FunctionDef)
    arguments = function.args
    positional = arguments.posonlyargs + arguments.args
    pairs = list(
        zip(positional[len(positional) - len(arguments.defaults) :], arguments.defaults, strict=True)
    )
    keyword_only = zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)
    pairs += [(arg, default) for arg, default in keyword_only if default is not None]
    return {arg.arg: default for arg, default in pairs}


def _render_default(klass: type, name: str, value: Any, expression: ast.expr | None) -> str:
    if value is inspect.Parameter.empty:
        return "required"
    if computed := COMPUTED_DEFAULTS.get((klass.__name__, name)):
        return computed
    if (
        isinstance(expression, ast.Call)
        and isinstance(expression.func, ast.Attribute)
        and isinstance(expression.func.value, ast.Name)
        and expression.func.value.id == "conf"
        and len(expression.args) >= 2
        and all(isinstance(arg, ast.Constant) for arg in expression.args[:2])
    ):
        section, key = (str(arg.value) for arg in expression.args[:2] if isinstance(arg, ast.Constant))
        return f"`[{section}] {key}` (`{value!r}`)"
    return f'`"{value}"`' if isinstance(value, str) else f"`{value!r}`"


def _split_union(annotation: str) -> list[str]:
    """``a | b[c | d]`` → ``["a", "b[c | d]"]``: the top-level members of a union."""
    members, depth, start = [], 0, 0
    for index, char in enumerate(annotation):
        if char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
        elif char == "|" and depth == 0:
            members.append(annotation[start:index].strip())
            start = index + 1
    return [*members, annotation[start:].strip()]


def _render_type(annotation: Any) -> str:
    if annotation is inspect.Parameter.empty:
        return ""
    text = annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)
    return " or ".join(f"`{member}`" for member in _split_union(text))


def _markdown(text: str) -> str:
    """reST of a docstring as Markdown for a table cell (templating has its own column)."""
    text = re.sub(r"\s*\(templated\)", "", text)
    text = re.sub(r"\(templated[;,] ", "(", text)
    text = re.sub(r":\w+:`~[\w.]*?\.?(\w+)`", r"`\1`", text)  # :class:`~a.b.C` -> `C`
    text = re.sub(r":\w+:`([^`]+)`", r"`\1`", text)  # :meth:`a.b` -> `a.b`
    text = text.replace("``", "`")
    if text.endswith(".") and ". " not in text:  # one sentence: a cell, not a paragraph
        text = text[:-1]
    # a pipe outside a code span would end the cell (Python-Markdown keeps pipes in code spans)
    return "`".join(
        part if index % 2 else part.replace("|", "\\|") for index, part in enumerate(text.split("`"))
    )


def parameters(cls: type) -> list[Param]:
    """The rows of ``cls``'s table: its own arguments first, then those of its bases."""
    docs = _param_docs(cls)
    templated = set(getattr(cls, "template_fields", ()))
    rows: dict[str, Param] = {}
    for klass in documented_bases(cls):
        expressions = _default_expressions(klass)
        for name, param in inspect.signature(vars(klass)["__init__"]).parameters.items():
            if (
                name == "self"
                or name in rows
                or name in REFUSED.get(cls.__name__, ())
                or param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL)
            ):
                continue
            meaning = docs.get(name)
            rows[name] = Param(
                name=name,
                type=_render_type(param.annotation),
                default=_render_default(klass, name, param.default, expressions.get(name)),
                templated=name in templated,
                meaning=_markdown(meaning) if meaning else SENSOR_ARGUMENTS.get(name, UNDOCUMENTED),
            )
    return list(rows.values())


# -- writing the tables ----------------------------------------------------------------------------
def render(cls: type) -> str:
    """The Markdown of ``cls``'s region, between its markers."""
    from airflow.sdk import BaseOperator, BaseSensorOperator

    is_task = issubclass(cls, BaseOperator)
    header = (
        "| parameter | type | default | templated | meaning |"
        if is_task
        else ("| parameter | type | default | meaning |")
    )
    lines = [header, "|---|---|---|---|---|" if is_task else "|---|---|---|---|"]
    for row in parameters(cls):
        cells = [f"`{row.name}`", row.type, row.default]
        if is_task:
            cells.append("yes" if row.templated else "")
        lines.append("| " + " | ".join([*cells, row.meaning]) + " |")
    if issubclass(cls, BaseSensorOperator):
        footer = (
            f"Plus the other [`BaseOperator` arguments]({BASE_OPERATOR_DOCS}) (`task_id`, `retries`, "
            "`execution_timeout`, `outlets`, …)."
        )
    elif is_task:
        footer = (
            f"Plus Airflow's [`BaseOperator` arguments]({BASE_OPERATOR_DOCS}) (`task_id`, `retries`, "
            "`execution_timeout`, `outlets`, …)."
        )
    else:
        footer = "Operators and sensors build this trigger; its arguments are plain JSON (`serialize()`)."
    return "\n".join([*lines, "", footer, ""]) + "\n"


def result_types() -> dict[str, type]:
    """Every ``TypedDict`` :mod:`clipgen_provider.results` exports, by name."""
    from clipgen_provider import results

    return {name: getattr(results, name) for name in sorted(results.__all__)}


@dataclass(frozen=True)
class Key:
    """One row of a result type's table."""

    name: str
    type: str
    always: bool
    meaning: str


def result_keys(result_type: type) -> list[Key]:
    """The keys of a ``TypedDict``: type as written, whether always present, and its ``#:`` comment."""
    source_lines, _ = inspect.getsourcelines(result_type)
    body = ast.parse(textwrap.dedent("".join(source_lines))).body[0]
    assert isinstance(body, ast.ClassDef)
    optional: frozenset[str] = getattr(result_type, "__optional_keys__", frozenset())
    rows = []
    for node in body.body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        comment: list[str] = []
        line = node.lineno - 2  # the source line above the key (0-based)
        while line >= 0 and source_lines[line].strip().startswith("#:"):
            comment.insert(0, source_lines[line].strip()[2:].strip())
            line -= 1
        annotation = ast.unparse(node.annotation)
        annotation = re.sub(r"^NotRequired\[(.*)\]$", r"\1", annotation)
        rows.append(
            Key(
                name=node.target.id,
                type=_render_type(annotation),
                always=node.target.id not in optional,
                meaning=_markdown(" ".join(comment)),
            )
        )
    return rows


def render_result(result_type: type) -> str:
    """The Markdown of a result type's region: one row per key."""
    lines = ["| key | type | always there | meaning |", "|---|---|---|---|"]
    for row in result_keys(result_type):
        lines.append(f"| `{row.name}` | {row.type} | {'yes' if row.always else 'no'} | {row.meaning} |")
    return "\n".join(lines) + "\n"


def regenerate(text: str, classes: dict[str, type], results: dict[str, type] | None = None) -> str:
    """``text`` with every region's table written anew (unknown names are left as they are)."""
    results = result_types() if results is None else results

    def filler(known: dict[str, type], draw: Callable[[type], str]) -> Callable[[re.Match[str]], str]:
        def fill(match: re.Match[str]) -> str:
            found = known.get(match.group(2))
            return match.group(0) if found is None else match.group(1) + draw(found) + match.group(4)

        return fill

    text = REGION.sub(filler(classes, render), text)
    return RESULTS_REGION.sub(filler(results, render_result), text)


def regions(text: str, pattern: re.Pattern[str] = REGION) -> list[str]:
    """The names of the regions of ``pattern`` (default: parameter tables) in ``text``, in order."""
    return [match.group(2) for match in pattern.finditer(text)]


def pages() -> list[Path]:
    """Every docs page, sorted."""
    return sorted(DOCS.rglob("*.md"))


def main(argv: list[str] | None = None) -> int:
    """Rewrite the tables, or with ``--check`` report the pages that are out of date."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a table is stale")
    args = parser.parse_args(argv)
    classes = public_classes()
    stale = []
    for page in pages():
        text = page.read_text()
        fresh = regenerate(text, classes)
        if fresh != text:
            stale.append(page.relative_to(REPO))
            if not args.check:
                page.write_text(fresh)
    for page in stale:
        print(f"{'out of date' if args.check else 'rewrote'}: {page}")
    if args.check and stale:
        print(f"Run `{COMMAND}` to regenerate.")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
