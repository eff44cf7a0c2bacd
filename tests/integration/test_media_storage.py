"""Copying generated media into object storage: streamed, checked, predictably named, retry-safe."""

from __future__ import annotations

import tracemalloc

import httpx
import pytest

from clipgen_provider.media import MediaDownloadError, MediaItem, as_storage_path, store_media


def item(sandbox, name: str, **declared) -> MediaItem:
    return MediaItem(url=f"{sandbox.url}/media/{name}", **declared)


def test_files_land_under_file_url_with_the_served_bytes(sandbox, tmp_path):
    items = [item(sandbox, "job1-0.png", content_type="image/png"), item(sandbox, "job1-video.mp4")]
    stored = store_media(items, f"file://{tmp_path}/media/2026-11-23", stem="job1")
    assert stored == [
        f"file://{tmp_path}/media/2026-11-23/job1-0.png",
        f"file://{tmp_path}/media/2026-11-23/job1-1.mp4",
    ]
    png = (tmp_path / "media/2026-11-23/job1-0.png").read_bytes()
    assert png == httpx.get(items[0].url).content
    assert png.startswith(b"\x89PNG")


def test_memory_url_and_retry_overwrites_instead_of_duplicating(sandbox):
    items = [item(sandbox, "job2.mp3", content_type="audio/mpeg")]
    first = store_media(items, "memory://bucket/run-1", stem="job2")
    second = store_media(items, "memory://bucket/run-1", stem="job2")
    assert first == second
    folder = as_storage_path("memory://bucket/run-1")
    assert [p.name for p in folder.iterdir()] == ["job2-0.mp3"]
    assert (folder / "job2-0.mp3").read_bytes() == httpx.get(items[0].url).content


def test_large_file_is_streamed_not_held_in_memory(sandbox, tmp_path):
    size = 40 * 1024 * 1024
    big = item(sandbox, f"big.wav?size={size}", file_size=size)
    tracemalloc.start()
    try:
        store_media([big], f"file://{tmp_path}", stem="big")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (tmp_path / "big-0.wav").stat().st_size == size
    assert peak < 8 * 1024 * 1024


def test_declared_size_mismatch_fails(sandbox, tmp_path):
    with pytest.raises(MediaDownloadError, match="declared file_size is 12"):
        store_media([item(sandbox, "x.png", file_size=12)], f"file://{tmp_path}", stem="x")


def test_declared_type_mismatch_fails(sandbox, tmp_path):
    with pytest.raises(MediaDownloadError, match="served image/png, but the API declared video/mp4"):
        store_media([item(sandbox, "x.png", content_type="video/mp4")], f"file://{tmp_path}", stem="x")


def test_missing_file_and_unreachable_host_fail_clearly(sandbox, tmp_path):
    with pytest.raises(MediaDownloadError, match="HTTP 4"):
        store_media([MediaItem(url=f"{sandbox.url}/media/nothing.xyz")], f"file://{tmp_path}", stem="x")
    with pytest.raises(MediaDownloadError, match="ConnectError"):
        store_media([MediaItem(url="http://127.0.0.1:9/a.png")], f"file://{tmp_path}", stem="x")


def test_output_path_without_scheme_is_refused():
    with pytest.raises(ValueError, match="has no scheme"):
        as_storage_path("relative/folder")
