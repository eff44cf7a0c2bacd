"""The record behind every resource: catalog assets, uploads, products and generated media.

One shape for all thirteen resource types keeps listing, filtering, retrieval and deletion in
one place; what differs between types lives in ``fields`` (the public extras) and in the
tables of :mod:`.seed`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from clipgen_provider.sandbox.media import media_url

from .links import media_facts
from .timeline import iso

SourceKind = Literal["catalog", "uploaded", "generated", "created"]


@dataclass
class Resource:
    """A resource visible to a token: shared catalog (``owner`` None) or the token's own."""

    id: str
    resource_type: str
    display_name: str
    source_kind: SourceKind
    created_at: float
    #: public extras (``file_type``, ``collection``, ``sha256`` …); filters match on these
    fields: dict[str, Any] = field(default_factory=dict)
    #: served extension of the media URL; None for records without media (products)
    ext: str | None = None
    #: slugs of the formats the asset suits; None means any format
    compatible_formats: tuple[str, ...] | None = None
    #: token owning the record; None for the shared catalog
    owner: str | None = None
    #: where an upload's bytes are stored
    path: Path | None = None

    @property
    def file_type(self) -> str | None:
        """Kind of media (``image``, ``video``, ``audio`` …), if any."""
        return self.fields.get("file_type")

    def suits(self, format_slugs: Collection[str]) -> bool:
        """Whether the asset may be used by any of ``format_slugs``."""
        return self.compatible_formats is None or not set(format_slugs).isdisjoint(self.compatible_formats)

    def matches(self, filters: Mapping[str, str]) -> bool:
        """Whether every exact-match filter (``type``, ``collection`` …) equals a public field."""
        return all(self.fields.get(name) == value for name, value in filters.items())

    def view(self, base_url: str) -> dict[str, Any]:
        """Return the public object; the media URL is built for the requesting host."""
        view: dict[str, Any] = {
            "id": self.id,
            "resource_type": self.resource_type,
            "display_name": self.display_name,
            "source_kind": self.source_kind,
            **self.fields,
            "compatible_formats": None if self.compatible_formats is None else list(self.compatible_formats),
            "created_at": iso(self.created_at),
        }
        if self.ext is not None:
            view["url"] = media_url(base_url, self.id, self.ext)
            if self.path is None:  # sandbox-made media: the URL serves exactly this record's bytes
                view.update(media_facts(self.id, self.ext))
        return view
