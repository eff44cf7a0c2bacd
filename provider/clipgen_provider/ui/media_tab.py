"""The *Media* tab of a task instance: what its generation made, and how it was asked for.

Built only from Airflow's metadata (:mod:`clipgen_provider.ui.metadata`): loading the tab never
calls Clipia or Clipwise. Media with a stored copy are shown from that copy through the media
route (:mod:`clipgen_provider.ui.files`); the others from the API's URL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy.orm import Session

from clipgen_provider.ui import metadata
from clipgen_provider.ui.html import ENV, document
from clipgen_provider.ui.metadata import TaskInstanceKey
from clipgen_provider.ui.records import XCOM_KEYS, Generation, MediaEntry, build_generation, is_generation
from clipgen_provider.ui.urls import api_result_url, stored_file_url


@dataclass(frozen=True)
class MediaTab:
    """What the tab shows: a generation, or why there is none (``empty``)."""

    key: TaskInstanceKey
    try_number: int
    generation: Generation | None
    empty: str | None


def read_media_tab(session: Session, key: TaskInstanceKey) -> MediaTab:
    """Read the task instance's latest try and, if it is a generation, what it produced."""
    facts = metadata.task_instance_facts(session, key)
    if facts is None:
        return MediaTab(key, 0, None, "This task instance does not exist (yet).")
    stored = metadata.xcoms(session, key, XCOM_KEYS)
    if not is_generation(facts.operator, stored):
        return MediaTab(key, facts.try_number, None, "This task does not generate media.")
    generation = build_generation(stored, metadata.rendered_fields(session, key), facts.state)
    return MediaTab(key, facts.try_number, generation, None)


def media_source(key: TaskInstanceKey, entry: MediaEntry) -> str | None:
    """Where the browser loads a file from: the stored copy through this app, else the API's URL."""
    return stored_file_url(key, entry.index) if entry.stored_path else entry.url


_BODY = ENV.get_template("media_tab.html")


def render_media_tab(tab: MediaTab) -> str:
    """The tab's HTML page."""
    gen = tab.generation
    body = _BODY.render(
        key=tab.key,
        try_number=tab.try_number,
        gen=gen,
        empty=tab.empty,
        media=[(entry, media_source(tab.key, entry)) for entry in gen.media] if gen else [],
        inputs_json=json.dumps(gen.inputs, indent=2, sort_keys=True, default=str) if gen else "",
        result_url=api_result_url(gen.api, gen.job_id, gen.conn_id) if gen else None,
    )
    return document(f"Media of {tab.key.task_id}", body)
