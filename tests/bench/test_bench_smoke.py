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
    from bench.suite import REQUIRED_KEYS, WEBHOOK_KEYS

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
        assert isinstance(results[key], (int, float)) or key in WEBHOOK_KEYS, key
    # the smoke plan's one load size ran and its triggers polled; whether it kept up is a timing
    # figure, meaningless while other tests share the machine
    (clipia_run,) = results["details"]["trigger_runs"]["clipia"]
    assert clipia_run["triggers"] == 20, clipia_run
    assert clipia_run["polls_served"] > 0, clipia_run
    assert results["triggers_concurrent_max"] in (0, 20)
    assert results["api_calls_per_job_poll"] >= 3  # submit, at least one poll, result
    # webhook mode needs a real deployment: tests/system/test_bench_webhook_mode.py runs it
    assert results["api_calls_per_job_webhook"] is None
    assert "not run" in results["notes"]["webhook_resume_p95_s"]
    # adaptive polling: the one load size ran (renders ended), both schedules ran on the same jobs
    (load_run,) = results["details"]["adaptive"]["load_runs"]
    assert load_run["waits"] == 30, load_run
    assert load_run["jobs_ended"] > 0, load_run
    assert results["adaptive_triggers_concurrent_max"] in (0, 30)
    assert results["adaptive_api_calls_per_60s_job"] < results["fixed_api_calls_per_60s_job"]
    assert results["adaptive_api_calls_per_10min_job"] < results["fixed_api_calls_per_10min_job"]
    adaptive = results["details"]["adaptive"]
    assert set(adaptive["live"]["live"]) == set(adaptive["live"]["virtual"]) == {"adaptive", "fixed"}
    assert [row["max_poll_interval"] for row in adaptive["longest_sweep"]] == [60.0, 120.0, 300.0]

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


def test_only_adaptive_needs_an_earlier_full_run(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--only", "adaptive", "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "run the whole benchmark once first" in done.stderr
    assert not (tmp_path / "benchmarks.json").exists()


def test_a_section_run_replaces_its_figures_and_keeps_the_others() -> None:
    from bench.suite import merge_results

    earlier = {
        "triggers_concurrent_max": 5000,
        "adaptive_api_calls_per_60s_job": 9.0,
        "details": {"plan": 1, "adaptive": {"old": 1}},
    }
    fresh = {"adaptive_api_calls_per_60s_job": 4.5, "details": {"adaptive": {"new": 1}}}
    merged = merge_results(earlier, fresh)
    assert merged == {
        "triggers_concurrent_max": 5000,
        "adaptive_api_calls_per_60s_job": 4.5,
        "details": {"plan": 1, "adaptive": {"new": 1}},
    }
