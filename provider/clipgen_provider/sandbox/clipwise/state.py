"""Everything the Clipwise sandbox remembers, kept per token so tests isolate by token.

The shared catalog (seeded assets) is read-only; each token's :class:`Account` holds its own
uploads, products, generated assets, jobs, extraction tasks and idempotency keys.
``POST /_sandbox/reset`` calls :meth:`ClipwiseState.reset`.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import chain

from fastapi import Request

from clipgen_provider.sandbox.settings import SandboxSettings

from .assets import formats_taking
from .errors import not_found, permission_denied
from .extractions import Extraction
from .generations import Generation
from .idempotency import IdempotencyStore
from .links import EXTENSION_BY_FILE_TYPE
from .resources import Resource
from .seed import SEED_ITEMS
from .storage import FileStore
from .timeline import now


def build_catalog(at: float) -> dict[str, Resource]:
    """Turn the seed table into shared resources, resolving default compatibility."""
    catalog = {}
    for item in SEED_ITEMS:
        file_type = item.fields.get("file_type")
        catalog[item.id] = Resource(
            id=item.id,
            resource_type=item.type,
            display_name=item.display_name,
            source_kind="catalog",
            created_at=at,
            fields=dict(item.fields),
            ext=EXTENSION_BY_FILE_TYPE[file_type] if file_type else None,
            compatible_formats=item.compatible if item.compatible is not None else formats_taking(item.type),
        )
    return catalog


@dataclass
class Account:
    """What one token owns, on top of the catalog it shares with every token."""

    token: str
    catalog: Mapping[str, Resource]
    owned: dict[str, Resource] = field(default_factory=dict)
    generations: dict[str, Generation] = field(default_factory=dict)
    extractions: dict[str, Extraction] = field(default_factory=dict)
    idempotency: IdempotencyStore = field(default_factory=IdempotencyStore)
    #: (end time, id) of jobs whose media record is not added yet, earliest end first
    _unsettled: list[tuple[float, str]] = field(default_factory=list)

    def find(self, resource_id: str) -> Resource | None:
        """Return any resource visible to the token, whatever its type."""
        return self.owned.get(resource_id) or self.catalog.get(resource_id)

    def get(self, resource_type: str, resource_id: str) -> Resource:
        """Return a visible resource of ``resource_type`` or answer 404."""
        resource = self.find(resource_id)
        if resource is None or resource.resource_type != resource_type:
            raise not_found(
                f"no {resource_type} resource {resource_id}", resource_type=resource_type, id=resource_id
            )
        return resource

    def items(self, resource_type: str) -> list[Resource]:
        """Visible resources of a type: catalog first, then the token's own in creation order."""
        return [
            r for r in chain(self.catalog.values(), self.owned.values()) if r.resource_type == resource_type
        ]

    def add(self, resource: Resource) -> Resource:
        """Record a resource the token created."""
        self.owned[resource.id] = resource
        return resource

    def own(self, resource_type: str, resource_id: str) -> Resource:
        """Return a resource the token may change: 404 if invisible, 403 for catalog records."""
        resource = self.get(resource_type, resource_id)
        if resource.owner is None:
            raise permission_denied(
                f"{resource_id} is a shared catalog resource and is read-only", id=resource_id
            )
        return resource

    def remove(self, resource_type: str, resource_id: str) -> Resource:
        """Delete one of the token's own resources and return it."""
        return self.owned.pop(self.own(resource_type, resource_id).id)

    def generation(self, generation_id: str) -> Generation:
        """Return one of the token's jobs or answer 404."""
        job = self.generations.get(generation_id)
        if job is None:
            raise not_found(f"no generation {generation_id}", id=generation_id)
        return job

    def extraction(self, task_id: str) -> Extraction:
        """Return one of the token's extraction tasks or answer 404."""
        task = self.extractions.get(task_id)
        if task is None:
            raise not_found(f"no extract-url task {task_id}", id=task_id)
        return task

    def add_generation(self, job: Generation) -> Generation:
        """Record a new job; its ``generated_media`` record appears once it completed (:meth:`settle`)."""
        self.generations[job.id] = job
        heapq.heappush(self._unsettled, (job.timeline.finished_at, job.id))
        return job

    def settle(self, at: float) -> None:
        """Add the ``generated_media`` of jobs that completed since the token was last seen.

        Runs on every request of the token, so it looks only at jobs whose end has passed (a heap
        by end time): its cost does not grow with the jobs still running.
        """
        while self._unsettled and self._unsettled[0][0] <= at:
            _, job_id = heapq.heappop(self._unsettled)
            record = self.generations[job_id].take_media_record(at, self.token)
            if record is not None:
                self.add(record)


class ClipwiseState:
    """The Clipwise half of the sandbox state (``app.state.clipwise``)."""

    def __init__(self) -> None:
        self.catalog = build_catalog(now())
        self.storage = FileStore()
        self.accounts: dict[str, Account] = {}

    def account(self, token: str) -> Account:
        """Return the token's account, creating it on first use."""
        account = self.accounts.get(token)
        if account is None:
            account = self.accounts[token] = Account(token, self.catalog)
        return account

    def reset(self) -> None:
        """Forget every token's records and stored files; the catalog stays."""
        self.accounts.clear()
        self.storage.clear()


def clipwise_state(request: Request) -> ClipwiseState:
    """Return the state installed on the app serving ``request``."""
    state: ClipwiseState = request.app.state.clipwise
    return state


def sandbox_settings(request: Request) -> SandboxSettings:
    """Return the sandbox's run-time settings (timing knobs)."""
    settings: SandboxSettings = request.app.state.settings
    return settings
