"""Building the token's own resources from requests: uploaded files and generated assets.

Form or JSON metadata is split the same way for both: well-known keys become public fields
(and so work as list filters), names become ``display_name``, everything else lands in
``metadata``.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool

from .bodies import Multipart
from .errors import invalid_argument, invalid_upload
from .ids import new_id
from .links import media_extension
from .resources import Resource
from .seed import RESOURCE_TYPES
from .state import Account
from .storage import FileStore

#: metadata keys that become public fields of the resource
PROMOTED_FIELDS = ("type", "product_type", "collection", "language", "description", "video_format", "purpose")
_NAME_FIELDS = ("name", "display_name")
UPLOAD_PURPOSES = frozenset({"image", "video", "audio", "document", "other"})
_MEDIA_KINDS = ("image", "video", "audio")


def _split_metadata(values: Mapping[str, Any], consumed: tuple[str, ...] = ()) -> dict[str, Any]:
    """Return the public fields for ``values``: promoted keys plus a ``metadata`` dict of the rest."""
    fields = {name: values[name] for name in PROMOTED_FIELDS if values.get(name) not in (None, "")}
    skipped = set(PROMOTED_FIELDS) | set(_NAME_FIELDS) | set(consumed)
    fields["metadata"] = {name: value for name, value in values.items() if name not in skipped}
    return fields


def _display_name(values: Mapping[str, Any], fallback: str) -> str:
    """The name given as ``name`` or ``display_name``, else ``fallback``."""
    for name in _NAME_FIELDS:
        value = values.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return fallback


def check_purpose(fields: Mapping[str, str]) -> str:
    """Return the ``purpose`` of a generic upload (default ``image``) or answer 400."""
    purpose = fields.get("purpose", "image")
    if purpose not in UPLOAD_PURPOSES:
        raise invalid_argument(
            f"purpose must be one of {sorted(UPLOAD_PURPOSES)}",
            parameter="purpose",
            allowed=sorted(UPLOAD_PURPOSES),
        )
    return purpose


def _media_kind(content_type: str, purpose: str | None) -> str:
    """Kind of media of an upload: by content type, else by declared purpose, else ``document``."""
    major = content_type.partition("/")[0]
    if major in _MEDIA_KINDS:
        return major
    return purpose if purpose in _MEDIA_KINDS else "document"


async def upload_record(
    store: FileStore, account: Account, body: Multipart, resource_type: str, at: float
) -> Resource:
    """Stream the uploaded file to disk and record it as a resource of ``resource_type``."""
    upload = body.file
    filename = upload.filename or "upload"
    content_type = upload.content_type
    if not content_type or content_type == "application/octet-stream":
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    resource_id = new_id(RESOURCE_TYPES[resource_type].prefix)
    await upload.seek(0)
    stored = await run_in_threadpool(store.save, upload.file, resource_id)
    if stored.size == 0:
        store.discard(stored.path)
        raise invalid_upload("the uploaded file is empty")
    file_type = _media_kind(content_type, body.fields.get("purpose"))
    fields = {
        "file_type": file_type,
        "filename": filename,
        "content_type": content_type,
        "file_size": stored.size,
        "sha256": stored.sha256,
        **_split_metadata(body.fields),
    }
    return account.add(
        Resource(
            id=resource_id,
            resource_type=resource_type,
            display_name=_display_name(body.fields, filename),
            source_kind="uploaded",
            created_at=at,
            fields=fields,
            ext=media_extension(filename, file_type),
            owner=account.token,
            path=stored.path,
        )
    )


def generated_asset(account: Account, resource_type: str, body: Mapping[str, Any], at: float) -> Resource:
    """Record an asset made from a prompt (``avatars`` and ``background_images`` are images)."""
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise invalid_argument("prompt is required", missing=["prompt"])
    return account.add(
        Resource(
            id=new_id(RESOURCE_TYPES[resource_type].prefix),
            resource_type=resource_type,
            display_name=_display_name(body, prompt.strip()[:60]),
            source_kind="generated",
            created_at=at,
            fields={"file_type": "image", "prompt": prompt, **_split_metadata(body, consumed=("prompt",))},
            ext="png",
            owner=account.token,
        )
    )
