"""The UI's pure pieces: range requests, reading a generation's records, the plot, the cursor,
the HTML's escaping, the URLs, and how the plugin declares the tab and the page."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import pytest

from clipgen_provider.ui import URL_PREFIX, external_views
from clipgen_provider.ui.app import map_index_of
from clipgen_provider.ui.files import StoredFileMissing, stored_file_response
from clipgen_provider.ui.html import web_url
from clipgen_provider.ui.media_tab import MediaTab, render_media_tab
from clipgen_provider.ui.metadata import TaskInstanceKey
from clipgen_provider.ui.overview import BadCursor, Cursor
from clipgen_provider.ui.plot import spend_plot
from clipgen_provider.ui.ranges import ByteRange, UnsatisfiableRange, parse_range
from clipgen_provider.ui.records import build_generation, is_generation
from clipgen_provider.ui.spend import SpendCache, SpendRow
from clipgen_provider.ui.urls import airflow_root, stored_file_url, task_instance_url

KEY = TaskInstanceKey("studio", "manual__2026-12-03T10:00:00+00:00", "image", 2)


# -- ranges ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-99", ByteRange(0, 99, 1000)),
        ("bytes=500-", ByteRange(500, 999, 1000)),
        ("bytes=-100", ByteRange(900, 999, 1000)),
        ("bytes=-5000", ByteRange(0, 999, 1000)),
        ("bytes=990-5000", ByteRange(990, 999, 1000)),
        ("bytes=0-1,5-9", None),  # several ranges: the whole file
        ("items=0-1", None),
        ("bytes=9-2", None),
    ],
)
def test_parse_range(header, expected):
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=-0", "bytes=5000-6000"])
def test_unsatisfiable_ranges(header):
    with pytest.raises(UnsatisfiableRange):
        parse_range(header, 1000)


def test_content_range_header():
    assert ByteRange(10, 19, 100).content_range == "bytes 10-19/100"
    assert ByteRange(10, 19, 100).length == 10


# -- serving a stored file -----------------------------------------------------------------------
async def _body(response: Any) -> bytes:
    return b"".join([chunk async for chunk in response.body_iterator])


@pytest.fixture
def video(tmp_path):
    data = bytes(range(256)) * 4096  # 1 MiB, more than one chunk
    path = tmp_path / "job-0.mp4"
    path.write_bytes(data)
    return f"file://{path}", data


def test_whole_file_then_a_range_then_out_of_range(video):
    location, data = video
    whole = stored_file_response(location, None)
    assert whole.status_code == 200
    assert whole.headers["content-type"] == "video/mp4"
    assert whole.headers["accept-ranges"] == "bytes"
    assert int(whole.headers["content-length"]) == len(data)
    assert asyncio.run(_body(whole)) == data
    part = stored_file_response(location, "bytes=300000-300099")
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 300000-300099/{len(data)}"
    assert asyncio.run(_body(part)) == data[300000:300100]
    tail = stored_file_response(location, "bytes=1000000-")
    assert asyncio.run(_body(tail)) == data[1000000:]
    outside = stored_file_response(location, f"bytes={len(data)}-")
    assert outside.status_code == 416
    assert outside.headers["content-range"] == f"bytes */{len(data)}"


def test_memory_store_and_a_missing_copy():
    from clipgen_provider.media import as_storage_path

    target = as_storage_path("memory://ui-tests/a.png")
    target.write_bytes(b"\x89PNG fake")
    answer = stored_file_response("memory://ui-tests/a.png", "bytes=0-3")
    assert answer.headers["content-type"] == "image/png"
    assert asyncio.run(_body(answer)) == b"\x89PNG"
    with pytest.raises(StoredFileMissing):
        stored_file_response("memory://ui-tests/gone.png", None)


# -- records -------------------------------------------------------------------------------------
CLIPIA_RESULT = {
    "request_id": "r1",
    "status": "COMPLETED",
    "model": "nano-banana-2",
    "cost": 4,
    "output": {"images": [{"url": "https://cdn/x/0", "content_type": "image/png"}]},
    "media_urls": ["https://cdn/x/0"],
}


def test_generation_from_a_clipia_result_with_stored_copies():
    xcoms = {
        "return_value": CLIPIA_RESULT,
        "request_id": "r1",
        "media_urls": ["https://cdn/x/0"],
        "stored_paths": ["s3://bucket/r1-0.png"],
    }
    rendered = {"model": "nano-banana-2", "inputs": {"prompt": "a mug"}, "clipia_conn_id": "clipia_eu"}
    gen = build_generation(xcoms, rendered, "success")
    assert (gen.api, gen.job_id, gen.status, gen.model, gen.cost) == (
        "clipia",
        "r1",
        "COMPLETED",
        "nano-banana-2",
        4.0,
    )
    assert gen.prompt == "a mug"
    assert gen.conn_id == "clipia_eu"
    [entry] = gen.media
    assert (entry.kind, entry.content_type, entry.stored_path, entry.url) == (
        "image",
        "image/png",
        "s3://bucket/r1-0.png",
        "https://cdn/x/0",
    )


def test_generation_of_a_clipwise_job_still_waiting():
    gen = build_generation({"generation_id": "gen_1"}, {"format": "ugc_ad", "prompt": "sell it"}, "deferred")
    assert (gen.api, gen.job_id, gen.status, gen.model, gen.cost, gen.media) == (
        "clipwise",
        "gen_1",
        "task deferred",
        "ugc_ad",
        None,
        [],
    )
    assert gen.prompt == "sell it"


def test_media_kinds_from_urls_without_declared_types():
    gen = build_generation(
        {"media_urls": ["https://a/v.mp4", "https://a/s.mp3", "https://a/t.txt"]}, None, None
    )
    assert [m.kind for m in gen.media] == ["video", "audio", "other"]


def test_odd_values_show_less_instead_of_failing():
    gen = build_generation(
        {"return_value": "text", "media_urls": "nope", "stored_paths": [1, None]}, {"inputs": 3}, None
    )
    assert gen.media == []
    assert gen.cost is None
    assert gen.prompt is None


def test_which_task_instances_are_generations():
    assert is_generation("ClipiaGenerateOperator", {})
    assert is_generation("@task.clipwise", {})
    assert is_generation("MyStudioOperator", {"media_urls": []})  # a subclass under another name
    assert not is_generation("PythonOperator", {"return_value": {"cost": 3}})


# -- the Media tab's HTML --------------------------------------------------------------------------
def test_media_tab_escapes_what_it_shows_and_serves_stored_copies_by_index():
    hostile = {**CLIPIA_RESULT, "model": "<script>alert(1)</script>", "media_urls": ["javascript:alert(1)"]}
    xcoms = {"return_value": hostile, "media_urls": ["javascript:alert(1)"], "request_id": "r1"}
    gen = build_generation(xcoms, {"inputs": {"prompt": "<img src=x onerror=alert(1)>"}}, "success")
    html = render_media_tab(MediaTab(KEY, 3, gen, None))
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;" in html
    assert "<img src=x" not in html
    assert 'src="javascript:' not in html
    assert 'href="javascript:' not in html
    stored = build_generation({**xcoms, "stored_paths": ["file:///data/r1-0.png"]}, None, "success")
    html = render_media_tab(MediaTab(KEY, 3, stored, None))
    assert (
        'class="clipgen-thumb" src="media/file?dag_id=studio&amp;run_id=manual__2026-12-03T10%3A00%3A00%2B00%3A00'
        in html
    )
    assert "map index 2" in html


def test_web_url_keeps_only_web_and_relative_urls():
    assert web_url("https://cdn/a.png") == "https://cdn/a.png"
    assert web_url("media/file?index=0") == "media/file?index=0"
    assert web_url("javascript:alert(1)") == "#"
    assert web_url("data:text/html,x") == "#"


# -- URLs, parameters, cursor, plot --------------------------------------------------------------
def test_urls():
    assert stored_file_url(KEY, 1).endswith("&map_index=2&index=1")
    assert airflow_root("/airflow/clipgen-ui") == "/airflow"
    assert airflow_root(URL_PREFIX) == ""
    assert task_instance_url("", KEY) == (
        "/dags/studio/runs/manual__2026-12-03T10%3A00%3A00%2B00%3A00/tasks/image/mapped/2"
    )
    unmapped = TaskInstanceKey("d", "r", "t", -1)
    assert task_instance_url("/af", unmapped) == "/af/dags/d/runs/r/tasks/t"


def test_map_index_placeholder_means_unmapped():
    assert map_index_of("{MAP_INDEX}") == -1
    assert map_index_of(None) == -1
    assert map_index_of("3") == 3


def test_cursor_round_trip_and_junk():
    cursor = Cursor(42, "image", 3)
    assert Cursor.decode(cursor.encode()) == cursor
    with pytest.raises(BadCursor):
        Cursor.decode("garbage")


def test_spend_plot_stacks_dags_per_day():
    rows = [
        SpendRow("a", date(2026, 12, 1), 10.0),
        SpendRow("b", date(2026, 12, 1), 30.0),
        SpendRow("a", date(2026, 12, 3), 40.0),
    ]
    svg = str(spend_plot(rows, date(2026, 12, 1), date(2026, 12, 3)))
    assert svg.startswith('<svg id="clipgen-spend-plot"')
    assert svg.count('class="clipgen-bar"') == 3
    assert 'data-dag="b" data-day="2026-12-01" data-credits="30"' in svg
    evil = str(spend_plot([SpendRow("<x>", date(2026, 12, 1), 1.0)], date(2026, 12, 1), date(2026, 12, 1)))
    assert "<x>" not in evil


# -- the plugin ----------------------------------------------------------------------------------
def test_external_views_are_a_task_instance_tab_and_a_nav_page():
    tab, page = external_views()
    assert tab["destination"] == "task_instance"
    assert tab["url_route"] == "clipgen-media"
    assert not tab["href"].startswith("/")
    for placeholder in ("{DAG_ID}", "{RUN_ID}", "{TASK_ID}", "{MAP_INDEX}"):
        assert placeholder in tab["href"]
    assert page["destination"] == "nav"
    assert page["href"] == "clipgen-ui/page"


def test_airflow_collects_the_ui_app_and_views():
    from tests.airflow_compat import fastapi_plugin_apps, ui_plugin_views

    apps = {app["name"]: app for app in fastapi_plugin_apps()}
    assert apps["Clipgen media UI"]["url_prefix"] == URL_PREFIX
    assert apps["Clipgen webhook receiver"]["url_prefix"] == "/clipgen"
    assert {view["url_route"] for view in ui_plugin_views()} >= {"clipgen-media", "clipgen"}


def test_importing_the_plugin_loads_neither_the_ui_app_nor_fastapi():
    import subprocess
    import sys

    code = (
        "import sys, airflow.sdk\n"
        "before = set(sys.modules)\n"
        "import clipgen_provider.plugins\n"
        "added = [m for m in ('fastapi', 'clipgen_provider.ui.app', 'jinja2') if m in sys.modules and m not in before]\n"
        "assert not added, added\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_spend_cache_reads_once_a_minute_and_filters_per_user(monkeypatch):
    from clipgen_provider.ui import spend

    reads, clock = [0], [0.0]
    session: Any = None  # the stand-in below does not read a database
    rows = [SpendRow("a", date(2026, 12, 1), 1.0), SpendRow("b", date(2026, 12, 1), 2.0)]

    def read(session, since):
        reads[0] += 1
        return rows

    monkeypatch.setattr(spend, "spend_since", read)
    cache = SpendCache(ttl=60, now=lambda: clock[0])
    assert cache.rows(session, {"a"}, date(2026, 12, 1)) == rows[:1]
    assert cache.rows(session, {"a", "b"}, date(2026, 12, 1)) == rows
    assert reads == [1]
    clock[0] = 61
    cache.rows(session, set(), date(2026, 12, 1))
    assert reads == [2]
