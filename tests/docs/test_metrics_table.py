"""docs/metrics.md lists exactly the metrics clipgen_provider/metrics.py defines, with their types."""

from __future__ import annotations

import re

from clipgen_provider.metrics import METRICS
from tests.conftest import REPO

#: a table row naming a metric: its name and the first word of its type
ROW = re.compile(r"^\| `(clipgen\.[\w.]+)` \| (counter|timer)\b", re.M)


def test_the_metrics_table_lists_every_metric_and_nothing_else() -> None:
    page = (REPO / "docs" / "metrics.md").read_text()
    rows = ROW.findall(page)
    documented = dict(rows)
    assert len(documented) == len(rows), "a metric is listed twice"
    assert documented == {metric.name: metric.type for metric in METRICS}


def test_the_metrics_page_is_in_the_site_navigation() -> None:
    assert "metrics.md" in (REPO / "mkdocs.yml").read_text()
