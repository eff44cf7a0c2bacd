"""What a completed generation produced: the ``outputs`` object and its ``generated_media`` record.

The primary output type of the format decides the shape: rendered videos give ``video_url``;
tools and image formats give ``result`` with a ``url`` (``urls`` for image variations);
``video_to_text`` also gives the ``transcript``. Every completed job names its
``generated_media_id``, whose resource appears in the token's ``generated_media``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clipgen_provider.sandbox.media import media_url

from .catalog import Format
from .links import EXTENSION_BY_FILE_TYPE, media_facts
from .resources import Resource

TRANSCRIPT = (
    "Welcome to the Clipwise sandbox. This transcript stands in for the words spoken in the source "
    "video, so pipelines can be built and tested offline."
)


def primary_extension(entry: Format) -> str:
    """Extension of the main file a format produces."""
    return EXTENSION_BY_FILE_TYPE[entry.output_types[0]]


def _variation_urls(entry: Format, params: Mapping[str, Any], media_id: str, base_url: str) -> list[str]:
    """One URL per requested image variation, the first being the generated media itself."""
    count = params.get("variations", 1) if entry.output_types[0] == "image" else 1
    ids = [media_id, *(f"{media_id}_{number}" for number in range(2, int(count) + 1))]
    return [media_url(base_url, each, primary_extension(entry)) for each in ids]


def render_outputs(entry: Format, params: Mapping[str, Any], media_id: str, base_url: str) -> dict[str, Any]:
    """Return ``generation.outputs`` of a completed job."""
    primary = entry.output_types[0]
    urls = _variation_urls(entry, params, media_id, base_url)
    outputs: dict[str, Any] = {"generated_media_id": media_id}
    if primary == "video":
        outputs["video_url"] = urls[0]
    if entry.kind == "tool" or primary != "video":
        result = {"url": urls[0], **media_facts(media_id, primary_extension(entry))}
        outputs["result"] = {**result, "urls": urls} if len(urls) > 1 else result
    if primary == "text":
        outputs["transcript"] = TRANSCRIPT
    return outputs


def media_record(entry: Format, media_id: str, generation_id: str, owner: str, created_at: float) -> Resource:
    """Return the ``generated_media`` resource of a completed job."""
    return Resource(
        id=media_id,
        resource_type="generated_media",
        display_name=f"{entry.display_name} output of {generation_id}",
        source_kind="generated",
        created_at=created_at,
        fields={"file_type": entry.output_types[0], "format": entry.slug, "generation_id": generation_id},
        ext=primary_extension(entry),
        owner=owner,
    )
