"""The XCom values Clipwise tasks return: flat, JSON-only digests a next task can template from."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clipgen_provider.results import ClipwiseGenerationResult


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def generation_summary(generation: Mapping[str, Any]) -> ClipwiseGenerationResult:
    """What a finished generation produced, as ``{generation_id, format, mode, status, outputs,
    video_url, result_url, transcript, generated_media_id, media_urls}``.

    ``video_url`` is set for rendered videos, ``result_url`` for tools and image formats (their
    ``outputs.result.url``), ``transcript`` for ``video_to_text``; keys that do not apply are None.
    ``media_urls`` lists every media URL once: the video, then each result URL (one per image
    variation). ``outputs`` is the API's object as it is, for anything else a tool returned.
    """
    outputs = _mapping(generation.get("outputs"))
    result = _mapping(outputs.get("result"))
    result_urls = result.get("urls") or ([result["url"]] if result.get("url") else [])
    media_urls = [url for url in (outputs.get("video_url"), *result_urls) if url]
    return {
        "generation_id": generation.get("id", ""),
        "format": generation.get("format"),
        "mode": generation.get("mode"),
        "status": generation.get("status", ""),
        "outputs": dict(outputs),
        "video_url": outputs.get("video_url"),
        "result_url": result.get("url"),
        "transcript": outputs.get("transcript"),
        "generated_media_id": outputs.get("generated_media_id"),
        "media_urls": list(dict.fromkeys(media_urls)),
    }
