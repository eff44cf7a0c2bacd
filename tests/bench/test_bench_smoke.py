"""``python -m bench --smoke``: every measurement runs at a tiny size and the report has every key.

The figures of a smoke run mean nothing (20 triggers, seconds-long windows); the full benchmark is
``make bench``, kept out of the test run because its timings are noisy.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(900)
def test_smoke_run_reports_every_key(tmp_path: Path) -> None:
    from bench.sections import OWNED
    from bench.suite import REQUIRED_KEYS

    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=890,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    results = json.loads((tmp_path / "benchmarks.json").read_text())
    assert set(REQUIRED_KEYS) <= set(results)
    for key in REQUIRED_KEYS:
        assert isinstance(results[key], (int, float)), key
    assert results["triggers_concurrent_max"] == 20
    assert results["api_calls_per_job_poll"] >= 3  # submit, at least one poll, result
    assert results["api_calls_per_job_webhook"] == 2  # submit and result: the delivery replaced the polls
    assert results["webhook_resume_p95_s_default_scheduler"] > 0

    page = (tmp_path / "benchmarks.md").read_text()
    for title in OWNED:
        assert f"\n## {title}\n" in page


def test_rerun_keeps_other_sections() -> None:
    from bench.report import merge_sections

    page = "# Benchmarks\n\nintro\n\n## Summary\n\nold\n\n## Webhook latency\n\ntheirs\n"
    merged = merge_sections(page, {"Summary": "new", "Import cost": "imports"})
    assert "## Webhook latency\n\ntheirs" in merged
    assert "## Summary\n\nnew" in merged
    assert "old" not in merged
    assert merged.index("## Summary") < merged.index("## Import cost") < merged.index("## Webhook latency")
    assert merged.startswith("# Benchmarks\n\nintro")
