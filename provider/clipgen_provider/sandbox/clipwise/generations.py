"""Generation jobs: a lazily computed status over real time, cancellation, the public view.

Status is never stored: it follows from the creation time and the timing the job copied from
the sandbox settings (queued → processing → completed, or failed when a string parameter holds
``[sandbox:fail]``). Only a cancellation is recorded, and only while the job is still queued,
because that is the only moment the work can really stop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from clipgen_provider.sandbox.settings import SandboxSettings

from .errors import ClipwiseError
from .ids import new_id
from .outputs import media_record, render_outputs
from .params import GenerationRequest
from .resources import Resource
from .timeline import Timeline, iso

#: put this into the prompt, script or any string parameter to make the job fail
FAIL_MARKER = "[sandbox:fail]"


@dataclass
class Generation:
    """One generation job of a token."""

    id: str
    request: GenerationRequest
    timeline: Timeline
    media_id: str
    cancelled_at: float | None = None
    media_recorded: bool = False

    @classmethod
    def start(
        cls, request: GenerationRequest, settings: SandboxSettings, at: float, index: int
    ) -> Generation:
        """Create the account's ``index``-th job, queued, copying the current timing settings onto it."""
        return cls(new_id("gen"), request, Timeline.for_job(at, settings, index), new_id("med"))

    @property
    def fails(self) -> bool:
        """Whether the job ends ``failed`` (a string parameter holds the fail marker)."""
        return any(isinstance(value, str) and FAIL_MARKER in value for value in self.request.params.values())

    def status(self, at: float) -> str:
        """Return the lowercase status at epoch ``at``."""
        if self.cancelled_at is not None:
            return "cancelled"
        phase = self.timeline.phase(at)
        if phase == "done":
            return "failed" if self.fails else "completed"
        return "processing" if phase == "running" else "queued"

    def cancel(self, at: float) -> None:
        """Cancel a queued job; anything else cannot really stop, so refuse (409)."""
        status = self.status(at)
        if status == "queued":
            self.cancelled_at = at
        elif status != "cancelled":
            raise ClipwiseError(
                409,
                "unsupported_cancellation",
                f"generation {self.id} is {status} and can no longer be cancelled",
                {"status": status},
            )

    def take_media_record(self, at: float, owner: str) -> Resource | None:
        """Return the job's ``generated_media`` record once, the first time it is seen completed."""
        if self.media_recorded or self.status(at) != "completed":
            return None
        self.media_recorded = True
        return media_record(self.request.format, self.media_id, self.id, owner, self.timeline.finished_at)

    def view(self, at: float, base_url: str) -> dict[str, Any]:
        """Return the public ``generation`` object as seen at epoch ``at``."""
        status = self.status(at)
        entry = self.request.format
        error = None
        if status == "failed":
            error = {"code": "generation_failed", "message": f"the sandbox failed this job ({FAIL_MARKER})"}
        outputs = (
            render_outputs(entry, self.request.params, self.media_id, base_url)
            if status == "completed"
            else {}
        )
        cancelled_at = self.cancelled_at
        view: dict[str, Any] = {
            "id": self.id,
            "format": entry.slug,
            "status": status,
            "progress": 0 if cancelled_at is not None else self.timeline.progress(at),
            "outputs": outputs,
            "error": error,
            "created_at": iso(self.timeline.created_at),
            "updated_at": iso(cancelled_at if cancelled_at is not None else self.timeline.changed_at(at)),
        }
        if self.request.mode is not None:
            view["mode"] = self.request.mode
        return view
