"""Every public operator, sensor and trigger the provider declares is documented in docs/."""

from __future__ import annotations

import importlib
import inspect

import pytest
from airflow.sdk import BaseOperator
from airflow.triggers.base import BaseTrigger

from clipgen_provider.get_provider_info import get_provider_info
from tests.conftest import REPO

DOCS = "\n".join(path.read_text() for path in (REPO / "docs").rglob("*.md"))


def public_classes() -> list[str]:
    info = get_provider_info()
    names = []
    for section in ("operators", "sensors", "triggers"):
        for entry in info[section]:
            for module_name in entry["python-modules"]:
                module = importlib.import_module(module_name)
                for name, obj in vars(module).items():
                    if (
                        inspect.isclass(obj)
                        and obj.__module__.startswith("clipgen_provider.")
                        and not name.startswith("_")
                        and issubclass(obj, BaseOperator | BaseTrigger)
                        and not inspect.isabstract(obj)
                    ):
                        names.append(name)
    return sorted(set(names))


@pytest.mark.parametrize("name", public_classes())
def test_documented(name):
    assert f"`{name}" in DOCS, f"{name} has no section in docs/"
