"""The Media tab of a finished generation, opened as a user does: the task instance's page, then
its *Media* tab, which Airflow fills with the plugin's page in an iframe."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, Response, expect

from tests.browser.deployment import MEDIA_DAG, Deployment, Runs
from tests.browser.ui import loaded_images, plugin_frame, task_instance_url

MEDIA_ROUTE = "/clipgen-ui/media/file?"


def _finished(deployment: Deployment, runs: Runs, task_id: str) -> dict[str, Any]:
    """Wait until ``task_id`` of the media run succeeded; return its XCom result."""
    deployment.cluster.wait_for_state(MEDIA_DAG, runs.media, task_id, {"success"}, timeout=300)
    result = deployment.cluster.xcom(MEDIA_DAG, runs.media, task_id, "return_value")
    assert (result or {}).get("stored_paths"), f"{task_id} kept no files: {result}"
    return dict(result)


def _local(stored: str) -> Path:
    return Path(stored.removeprefix("file://"))


def _open_media_tab(page: Page, deployment: Deployment, runs: Runs, task_id: str) -> None:
    page.goto(task_instance_url(deployment.url, MEDIA_DAG, runs.media, task_id))
    page.get_by_role("link", name="Media", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/tasks/{task_id}/plugin/clipgen-media$"))


def test_images_load_from_the_stored_copies_and_open_full_size(
    page: Page, deployment: Deployment, runs: Runs, screenshot: Any
) -> None:
    result = _finished(deployment, runs, "product_shots")
    served: list[Response] = []
    page.on("response", lambda response: served.append(response) if MEDIA_ROUTE in response.url else None)

    _open_media_tab(page, deployment, runs, "product_shots")
    frame = plugin_frame(page, "clipgen-ui/media?")
    expect(frame.locator(".clipgen-job-id")).to_have_text(result["request_id"])
    expect(frame.locator(".clipgen-model")).to_have_text("nano-banana-2")
    expect(frame.locator(".clipgen-status")).to_have_text("COMPLETED")
    expect(frame.locator(".clipgen-cost")).to_have_text(f"{result['cost']:g} credits")
    expect(frame.locator("#clipgen-prompt")).to_contain_text("A teal ceramic mug on a walnut shelf")
    expect(frame.locator("#clipgen-stored-paths li")).to_have_text(result["stored_paths"])

    frame.locator("#clipgen-media-items").scroll_into_view_if_needed()
    images = loaded_images(frame, "img.clipgen-thumb", count=2)
    assert [image["width"] for image in images] == [64, 64], f"a thumbnail did not load: {images}"
    assert all(MEDIA_ROUTE in image["src"] for image in images), "not shown from the stored copy"
    expect(frame.locator("figure.clipgen-media-item[data-stored='true']")).to_have_count(2)
    # what the plugin's route served is byte for byte what the task stored
    bodies = sorted(response.body() for response in served if response.status == 200)
    assert bodies == sorted(_local(path).read_bytes() for path in result["stored_paths"])
    assert {response.headers["content-type"] for response in served} == {"image/png"}
    screenshot("ui-media-tab")

    frame.locator("a.clipgen-full").first.click()
    expect(frame.locator("dialog#clipgen-lightbox")).to_be_visible()
    (full,) = loaded_images(frame, "#clipgen-lightbox-image", count=1)
    assert full["width"] == 64, full
    assert MEDIA_ROUTE in full["src"], full


def test_the_video_streams_from_the_stored_copy_with_range_requests(
    page: Page, deployment: Deployment, runs: Runs
) -> None:
    result = _finished(deployment, runs, "turntable_clip")
    (stored,) = map(_local, result["stored_paths"])
    content = stored.read_bytes()

    with page.expect_response(
        lambda response: MEDIA_ROUTE in response.url and response.request.resource_type == "media"
    ) as answer:
        _open_media_tab(page, deployment, runs, "turntable_clip")
    # the player asked for a range, as it does to seek, and got one
    video_response = answer.value
    assert video_response.status == 206
    assert (video_response.request.header_value("range") or "").startswith("bytes=")
    assert video_response.headers["content-type"] == "video/mp4"
    assert re.fullmatch(rf"bytes \d+-\d+/{len(content)}", video_response.headers["content-range"])

    frame = plugin_frame(page, "clipgen-ui/media?")
    video = frame.locator("video.clipgen-player")
    expect(video).to_have_count(1)
    source = video.evaluate("(video) => video.currentSrc")
    assert MEDIA_ROUTE in source, source
    assert "task_id=turntable_clip" in source, source
    # a later slice, fetched in the page with the signed-in user's cookie, is exactly those bytes
    part = frame.evaluate(
        """async (source) => {
            const answer = await fetch(source, {headers: {Range: "bytes=16-47"}});
            const body = new Uint8Array(await answer.arrayBuffer());
            return {status: answer.status, range: answer.headers.get("content-range"), body: [...body]};
        }""",
        source,
    )
    assert part["status"] == 206, part["status"]
    assert part["range"] == f"bytes 16-47/{len(content)}"
    assert bytes(part["body"]) == content[16:48]
