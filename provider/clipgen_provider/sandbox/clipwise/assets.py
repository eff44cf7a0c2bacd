"""Which resource types a generation parameter may name, and whether a named asset fits.

Clipwise rejects a generation naming an asset that does not belong to the selected format
instead of starting a brittle job; this module decides "belongs": the id must exist for the
token, be of a type the parameter takes, hold the right kind of media, and suit the format.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .catalog import FORMATS, Format
from .resources import Resource


@dataclass(frozen=True)
class AssetParam:
    """What a generation parameter that names assets accepts."""

    types: tuple[str, ...]
    #: media kind the asset must hold, if the parameter implies one
    file_type: str | None = None
    #: a list of ids (also accepted as one comma-separated string)
    many: bool = False
    #: an ``http(s)://`` URL is accepted instead of an id
    allow_url: bool = False


_IMAGE_SOURCES = ("generic_uploads", "generated_media")
_PRODUCT_IMAGES = ("product_images", "generic_uploads")

ASSET_PARAMS: Mapping[str, AssetParam] = {
    "avatar": AssetParam(("avatars",)),
    "voice": AssetParam(("voices",)),
    "background_image": AssetParam(("background_images",)),
    "reference_image": AssetParam(("poses",)),
    "pose": AssetParam(("poses",)),
    "reference_video": AssetParam(("reference_ads",), "video"),
    "reference_ad_id": AssetParam(("reference_ads",)),
    "product_id": AssetParam(("products",)),
    "product_image": AssetParam(_PRODUCT_IMAGES, "image"),
    "product_images": AssetParam(_PRODUCT_IMAGES, "image", many=True),
    "product_image_upload_id": AssetParam(_PRODUCT_IMAGES, "image"),
    "image": AssetParam(_IMAGE_SOURCES, "image"),
    "source_image": AssetParam(_IMAGE_SOURCES, "image"),
    "images": AssetParam(_IMAGE_SOURCES, "image", many=True),
    "source_images": AssetParam(_IMAGE_SOURCES, "image", many=True),
    "media_ids": AssetParam(_IMAGE_SOURCES, "image", many=True),
    "video": AssetParam(_IMAGE_SOURCES, "video", allow_url=True),
    "audio": AssetParam(_IMAGE_SOURCES, "audio"),
    "logo": AssetParam(("generic_uploads",), "image"),
    "background_music": AssetParam(("background_music",)),
    "overlay": AssetParam(("overlays",)),
}

#: parameters whose meaning depends on the format
_FORMAT_OVERRIDES: Mapping[tuple[str, str], AssetParam] = {
    ("viral_dancing_video", "reference_video"): AssetParam(("reference_videos",), "video"),
}


def asset_param(format_slug: str, name: str) -> AssetParam | None:
    """Return what parameter ``name`` accepts under ``format_slug``, or None if it names no asset."""
    return _FORMAT_OVERRIDES.get((format_slug, name)) or ASSET_PARAMS.get(name)


def formats_taking(resource_type: str) -> tuple[str, ...]:
    """Slugs of the formats that use ``resource_type`` (by requirements or by an input)."""

    def takes(entry: Format) -> bool:
        specs = (asset_param(entry.slug, name) for name in entry.inputs)
        return resource_type in entry.resource_requirements or any(
            spec is not None and resource_type in spec.types for spec in specs
        )

    return tuple(entry.slug for entry in FORMATS if takes(entry))


def _references(value: Any, spec: AssetParam) -> list[Any]:
    """Split a parameter value into the single references it names."""
    if spec.many and isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if spec.many and isinstance(value, list):
        return value
    return [value]


def _reason(resource: Resource | None, reference: Any, spec: AssetParam, entry: Format) -> str | None:
    """Why ``reference`` does not fit ``spec`` under ``entry``; None when it fits."""
    if not isinstance(reference, str):
        return "not_an_id"
    if spec.allow_url and reference.startswith(("http://", "https://")):
        return None
    if resource is None:
        return "unknown"
    if resource.resource_type not in spec.types:
        return "wrong_type"
    if spec.file_type is not None and resource.file_type != spec.file_type:
        return "wrong_file_type"
    if not resource.suits({entry.slug}):
        return "not_compatible"
    return None


def asset_problems(
    entry: Format, params: Mapping[str, Any], find: Callable[[str], Resource | None]
) -> list[dict[str, Any]]:
    """List every asset reference in ``params`` that does not fit ``entry`` (empty when all fit)."""
    problems = []
    for name, value in params.items():
        spec = asset_param(entry.slug, name)
        if spec is None:
            continue
        for reference in _references(value, spec):
            resource = find(reference) if isinstance(reference, str) else None
            reason = _reason(resource, reference, spec, entry)
            if reason is not None:
                problems.append(
                    {"parameter": name, "id": reference, "reason": reason, "expected_types": list(spec.types)}
                )
    return problems
