"""``extract-url`` tasks: a social video link turned into a usable video, over real time.

A direct link to a video file (``.mp4``, ``.mov``, ``.webm``, ``.m4v``) is ready at once; any
other link is ready after the sandbox timing; a link containing ``fail`` ends ``ready`` with
``success: false`` and ``url_extract_failed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from clipgen_provider.sandbox.media import media_url
from clipgen_provider.sandbox.settings import SandboxSettings

from .errors import invalid_argument
from .ids import new_id
from .timeline import Timeline

DIRECT_VIDEO_SUFFIXES = (".mp4", ".mov", ".webm", ".m4v")
FAIL_WORD = "fail"
_MAX_URL_LENGTH = 2048


def checked_url(value: Any) -> str:
    """Return ``value`` if it is an absolute ``http(s)`` URL, else reject the request."""
    if isinstance(value, str) and len(value) <= _MAX_URL_LENGTH and not any(c.isspace() for c in value):
        parts = urlsplit(value)
        if parts.scheme in ("http", "https") and parts.hostname:
            return value
    raise invalid_argument("url must be an absolute http(s) URL", parameter="url", value=value)


@dataclass(frozen=True)
class Extraction:
    """One extraction task of a token."""

    id: str
    source_url: str
    timeline: Timeline
    fails: bool

    @classmethod
    def start(cls, url: str, settings: SandboxSettings, at: float) -> Extraction:
        """Create a task; direct video links get an empty timeline (ready at once)."""
        fails = FAIL_WORD in url.lower()
        instant = not fails and urlsplit(url).path.lower().endswith(DIRECT_VIDEO_SUFFIXES)
        timeline = (
            Timeline(at, 0.0, 0.0) if instant else Timeline(at, settings.queue_seconds, settings.run_seconds)
        )
        return cls(new_id("ext"), url, timeline, fails)

    def video_url(self, at: float, base_url: str) -> str | None:
        """URL of the extracted video once it succeeded, else None."""
        if self.fails or self.timeline.phase(at) != "done":
            return None
        return media_url(base_url, self.id, "mp4")

    def start_view(self, at: float, base_url: str) -> dict[str, Any]:
        """Answer of ``POST extract-url/`` (``video_url`` only when ready at once)."""
        view: dict[str, Any] = {"task_id": self.id, "source_url": self.source_url}
        video_url = self.video_url(at, base_url)
        if video_url is not None:
            view["video_url"] = video_url
        return view

    def poll_view(self, at: float, base_url: str, request_id: str) -> dict[str, Any]:
        """Answer of ``GET extract-url/{task_id}/``."""
        ready = self.timeline.phase(at) == "done"
        failed = ready and self.fails
        return {
            "task_id": self.id,
            "source_url": self.source_url,
            "ready": ready,
            "success": (not failed) if ready else None,
            "video_url": self.video_url(at, base_url),
            "error": "no video could be extracted from this URL" if failed else None,
            "error_code": "url_extract_failed" if failed else None,
            "request_id": request_id,
        }
