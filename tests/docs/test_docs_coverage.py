"""Every public operator, sensor and trigger is documented in docs/; every test the docs name exists."""

from __future__ import annotations

import re

import pytest
from scripts.param_tables import public_classes

from tests.conftest import REPO

DOCS = "\n".join(path.read_text() for path in (REPO / "docs").rglob("*.md"))


@pytest.mark.parametrize("name", sorted(public_classes()))
def test_documented(name):
    assert f"`{name}" in DOCS, f"{name} has no section in docs/"


def test_every_test_the_reliability_table_names_exists():
    """docs/reliability.md promises a test per row: each ``dir/file.py::test`` it names is real."""
    table = (REPO / "docs" / "reliability.md").read_text()
    named = re.findall(r"`((?:unit|integration|sandbox|system|production)/[\w/]+\.py)(?:::(\w+))?`", table)
    assert len(named) >= 30, "the table should name its tests as dir/file.py::test_name"
    for path, test_name in named:
        source = REPO / "tests" / path
        assert source.is_file(), f"reliability.md names {path}, which does not exist"
        if test_name:
            assert re.search(rf"^(async )?def {test_name}\(", source.read_text(), re.M), (
                f"{path}::{test_name}"
            )
