"""The parameter tables in docs/ say what the code says: every public operator, sensor and trigger
has one table, generated from its signature, ``template_fields`` and ``:param:`` docstrings by
``scripts/param_tables.py``, and the committed tables are what that generator writes today."""

from __future__ import annotations

import inspect
import re
from collections.abc import Sequence
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import BaseSensorOperator, conf
from scripts import param_tables as generator

from clipgen_provider.operators._job import ClipgenJobOperator
from tests.conftest import REPO

CLASSES: dict[str, type] = generator.public_classes()
PAGES = {page.relative_to(REPO): page.read_text() for page in generator.pages()}


def committed_table(name: str) -> tuple[list[str], dict[str, list[str]]]:
    """The column names of ``name``'s table as committed, and its rows: parameter → its other cells."""
    for text in PAGES.values():
        for match in generator.REGION.finditer(text):
            if match.group(2) == name:
                header = [cell.strip() for cell in match.group(3).splitlines()[0].strip("|").split("|")]
                rows = re.findall(r"^\| `(\w+)` \|(.*)\|$", match.group(3), re.M)
                return header, {param: [cell.strip() for cell in cells.split(" | ")] for param, cells in rows}
    raise AssertionError(f"no table for {name}")


def test_tables_are_up_to_date() -> None:
    stale = [str(page) for page, text in PAGES.items() if generator.regenerate(text, CLASSES) != text]
    assert not stale, (
        f"parameter tables out of date in {', '.join(stale)}: a signature, template_fields or :param: "
        f"docstring changed. Run `{generator.COMMAND}` and commit the result."
    )


def test_every_public_class_has_exactly_one_table() -> None:
    regions = [name for text in PAGES.values() for name in generator.regions(text)]
    counts = {name: regions.count(name) for name in CLASSES}
    assert {name: n for name, n in counts.items() if n != 1} == {}, (
        "add one `<!-- params:ClassName -->` / `<!-- /params -->` pair to the class's section in "
        f"docs/, then run `{generator.COMMAND}`"
    )
    assert set(regions) <= set(CLASSES), (
        f"tables for classes that are not public: {set(regions) - set(CLASSES)}"
    )


def test_every_parameter_is_documented() -> None:
    missing = {
        name: [row.name for row in generator.parameters(cls) if row.meaning == generator.UNDOCUMENTED]
        for name, cls in CLASSES.items()
    }
    assert {name: params for name, params in missing.items() if params} == {}, (
        "add a `:param name:` line to the class docstring for each of these"
    )


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_table_lists_every_argument_of_the_signature(name: str) -> None:
    """Independent of the generator: the committed rows against ``inspect.signature`` of the class
    and of every provider base class (and BaseSensorOperator), with templated-ness."""
    cls = CLASSES[name]
    header, rows = committed_table(name)
    expected: set[str] = set()
    for klass in cls.__mro__:
        if "__init__" in vars(klass) and (
            klass.__module__.startswith("clipgen_provider.") or klass is BaseSensorOperator
        ):
            params = inspect.signature(vars(klass)["__init__"]).parameters.values()
            expected |= {
                p.name for p in params if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
            }
    expected -= generator.REFUSED.get(name, set())
    assert set(rows) == expected
    if "templated" in header:  # operators and sensors; triggers have no templates
        column = header.index("templated") - 1  # the parameter's own cell is not in the row's list
        templated = {param for param, cells in rows.items() if cells[column] == "yes"}
        assert templated == set(getattr(cls, "template_fields", ())) & expected


# -- the generator on a class made for the test --------------------------------------------------------
class _ExampleSensor(BaseSensorOperator):
    """A sensor for the test.

    :param job: the job to wait for (templated)
    :param limit: at most this many, see :class:`~clipgen_provider.operators._job.ClipgenJobOperator`
        and ``x | y``
    """

    template_fields: Sequence[str] = ("job",)

    def __init__(
        self,
        *,
        job: str,
        limit: int | None = 3,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)


def test_rows_come_from_signature_template_fields_and_docstrings() -> None:
    rows = {row.name: row for row in generator.parameters(_ExampleSensor)}
    assert list(rows)[:3] == ["job", "limit", "deferrable"]
    assert rows["job"] == generator.Param("job", "`str`", "required", True, "the job to wait for")
    assert rows["limit"].type == "`int` or `None`"
    assert rows["limit"].default == "`3`"
    assert rows["limit"].meaning == "at most this many, see `ClipgenJobOperator` and `x | y`"
    assert rows["deferrable"].default == "`[operators] default_deferrable` (`False`)"
    assert rows["deferrable"].meaning == generator.UNDOCUMENTED
    assert rows["timeout"].default == "`[sensors] default_timeout` (7 days)"
    assert {"poke_interval", "mode", "soft_fail", "exponential_backoff"} <= rows.keys()
    assert "task_id" not in rows, "generic BaseOperator arguments are linked to, not listed"


def test_a_pipe_outside_code_is_escaped_for_the_table() -> None:
    assert generator._markdown("a | b, `c | d`") == "a \\| b, `c | d`"


def test_regenerate_rewrites_only_the_regions() -> None:
    text = "# Page\n\nprose\n\n<!-- params:ClipgenJobOperator -->\nold\n<!-- /params -->\n\nmore prose\n"
    fresh = generator.regenerate(text, {"ClipgenJobOperator": ClipgenJobOperator})
    assert fresh.startswith("# Page\n\nprose\n\n<!-- params:ClipgenJobOperator -->\n| parameter |")
    assert fresh.endswith("<!-- /params -->\n\nmore prose\n")
    assert "| `wait_timeout` | `timedelta` or `float` or `None` |" in fresh
    assert generator.regenerate(fresh, {"ClipgenJobOperator": ClipgenJobOperator}) == fresh


def test_every_result_type_has_exactly_one_table() -> None:
    results = generator.result_types()
    regions = [name for text in PAGES.values() for name in generator.regions(text, generator.RESULTS_REGION)]
    assert sorted(regions) == sorted(results), (
        "each TypedDict of clipgen_provider.results needs one `<!-- results:Name -->` / `<!-- /results -->` "
        f"pair in docs/results.md; then run `{generator.COMMAND}`"
    )


def test_result_tables_read_keys_optionality_and_comments() -> None:
    from clipgen_provider.results import ClipiaGenerateResult

    keys = {key.name: key for key in generator.result_keys(ClipiaGenerateResult)}
    assert list(keys)[:2] == ["request_id", "status"]
    assert keys["stored_paths"] == generator.Key(
        "stored_paths",
        "`list[str]`",
        False,
        "where `output_path` stored each media file (only with `output_path`)",
    )
    assert keys["cost"].type == "`float` or `None`"
    assert keys["cost"].always
    assert set(keys) == set(ClipiaGenerateResult.__annotations__)
