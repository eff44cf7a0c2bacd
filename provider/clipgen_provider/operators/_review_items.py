"""The media a review shows, how its page is written, and what a reviewer's answer approves.

Pure functions over plain data, so every rule of the review gate is tested without Airflow:

* :func:`review_items` turns what the upstream generate tasks returned (one result per task, or per
  map index of a mapped task) into numbered :class:`ReviewItem` s, one per media file;
* :func:`render_body` writes the Markdown of Airflow's required-actions page: images as
  thumbnails, videos and audio as links, and per item its task, map index, model or format, cost,
  job id, prompt (when known) and stored copy;
* :func:`decide` maps the chosen option and the ``selected`` labels to the approved items, and
  refuses an answer that names no item or an unknown one.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from clipgen_provider.exceptions import ClipgenConfigError

#: the options a review offers, in the order its page shows them
APPROVE_ALL = "Approve all"
APPROVE_SELECTED = "Approve selected"
REGENERATE = "Regenerate"
REJECT = "Reject"

Decision = Literal["approved", "regenerate", "rejected"]

_IMAGE = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".avif", ".bmp"}
_VIDEO = {".mp4", ".webm", ".mov", ".m4v", ".mkv"}
_AUDIO = {".mp3", ".wav", ".ogg", ".m4a", ".aac", ".flac", ".opus"}
#: Markdown characters escaped in free text (a prompt must not turn into a link or a heading)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]()#+!<>|~{}])")
_PROMPT_CHARS = 300


@dataclass(frozen=True)
class UpstreamResult:
    """What one upstream task instance returned: its task id, map index (-1: not mapped), its XCom
    return value, and the prompt it was asked for when the DAG states it."""

    task_id: str
    map_index: int
    result: Any
    prompt: str | None = None


@dataclass(frozen=True)
class ReviewItem:
    """One media file under review, numbered from 1 across every upstream task (``item 3``)."""

    label: str
    task_id: str
    map_index: int
    url: str
    kind: Literal["image", "video", "audio", "file"]
    stored_path: str | None = None
    model: str | None = None
    cost: float | None = None
    job_id: str | None = None
    prompt: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The item as XCom stores it (plain JSON)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReviewItem:
        """The item :meth:`as_dict` wrote."""
        return cls(**data)


def media_kind(url: str, content_type: str | None = None) -> Literal["image", "video", "audio", "file"]:
    """``image``, ``video`` or ``audio`` from the declared content type, else the URL's extension."""
    major = (content_type or "").split("/", 1)[0].lower()
    if major in ("image", "video", "audio"):
        return major  # type: ignore[return-value]
    suffix = posixpath.splitext(urlsplit(url).path)[1].lower()
    if suffix in _IMAGE:
        return "image"
    if suffix in _VIDEO:
        return "video"
    if suffix in _AUDIO:
        return "audio"
    return "file"


def _is_generation(result: Any) -> bool:
    return isinstance(result, dict) and isinstance(result.get("media_urls"), list)


def review_items(results: Sequence[UpstreamResult]) -> list[ReviewItem]:
    """One :class:`ReviewItem` per media file the upstream results name, in task then map order.

    A result without media (a skipped or failed map index left none) adds nothing; a value that is
    not a generation's result at all (no ``media_urls``) is refused, naming the task. Stored copies
    are paired with the files in the order the generate task stored them.
    """
    from clipgen_provider.outputs import media_items

    items: list[ReviewItem] = []
    for upstream in results:
        if upstream.result is None:
            continue
        where = upstream.task_id if upstream.map_index < 0 else f"{upstream.task_id}[{upstream.map_index}]"
        if not _is_generation(upstream.result):
            raise ClipgenConfigError(
                f"{where} returned {type(upstream.result).__name__}, not a generation's result with "
                "media_urls: review the generate operators or sensors of this provider "
                "(ClipiaGenerateOperator, ClipwiseGenerateOperator, their sensors, @task.clipia …)."
            )
        result: dict[str, Any] = upstream.result
        stored = list(result.get("stored_paths") or [])
        job_id = result.get("request_id") or result.get("generation_id")
        model = result.get("model") or result.get("format")
        for index, media in enumerate(media_items(result)):
            items.append(
                ReviewItem(
                    label=f"item {len(items) + 1}",
                    task_id=upstream.task_id,
                    map_index=upstream.map_index,
                    url=media.url,
                    kind=media_kind(media.url, media.content_type),
                    stored_path=stored[index] if index < len(stored) else None,
                    model=str(model) if model else None,
                    cost=float(result["cost"]) if result.get("cost") is not None else None,
                    job_id=str(job_id) if job_id else None,
                    prompt=upstream.prompt,
                )
            )
    return items


def _text(value: str, limit: int = _PROMPT_CHARS) -> str:
    """Free text as inert Markdown on one line, cut at ``limit`` characters."""
    flat = " ".join(value.split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return _MARKDOWN_SPECIAL.sub(r"\\\1", flat)


def _link_target(url: str) -> str:
    """A URL safe inside Markdown's ``(...)``: spaces and parentheses percent-encoded."""
    return quote(url, safe=":/?&=%#@+,;~!$'*")


def _media_markdown(item: ReviewItem) -> str:
    """A thumbnail for an image; a link for anything else (the page renders no players)."""
    if urlsplit(item.url).scheme not in ("http", "https"):
        return f"`{item.url}` (not a web address: open the stored copy)"
    target = _link_target(item.url)
    if item.kind == "image":
        return f"[![{item.label}]({target})]({target})"
    return f"[▶ open the {item.kind} of {item.label}]({target})"


def _facts(item: ReviewItem) -> str:
    where = f"`{item.task_id}`" if item.map_index < 0 else f"`{item.task_id}` [{item.map_index}]"
    facts = [where]
    if item.model:
        facts.append(_text(item.model, 80))
    if item.cost is not None:
        facts.append(f"{item.cost:g} credits")
    if item.job_id:
        facts.append(f"job `{item.job_id}`")
    return " · ".join(facts)


def render_body(
    items: Sequence[ReviewItem],
    *,
    intro: str | None,
    options: Sequence[str],
    timeout_note: str,
) -> str:
    """The Markdown of the required-actions page: ``intro``, how to answer, then every item.

    The cost of a generation is shown on each of its files (a generation with two images costs
    what it says once).
    """
    generations = len({(item.task_id, item.map_index) for item in items})
    how = (
        f"**{len(items)} media file{'s' if len(items) != 1 else ''} from {generations} "
        f"generation{'s' if generations != 1 else ''}.** Choose **{APPROVE_ALL}**, or tick items under "
        f"*selected* and choose **{APPROVE_SELECTED}**"
    )
    if REGENERATE in options:
        how += f"; **{REGENERATE}** makes them again with your *note* added to the prompt"
    how += f"; **{REJECT}** stops here. {timeout_note}"
    parts = [intro.strip()] if intro and intro.strip() else []
    parts.append(how)
    for item in items:
        facts = [_facts(item)]
        if item.prompt:
            facts.append(f"Prompt: {_text(item.prompt)}")
        if item.stored_path:
            facts.append(f"Stored: `{item.stored_path}`")
        parts.append(f"#### {item.label}\n{_media_markdown(item)}\n\n" + "  \n".join(facts))
    return "\n\n".join(parts)


def _labels(selected: Any) -> list[str]:
    if selected is None:
        return []
    if isinstance(selected, str):
        return [selected]
    if isinstance(selected, Iterable):
        return [str(label) for label in selected]
    raise ClipgenConfigError(f"selected must be a list of item labels such as ['item 1'], not {selected!r}.")


@dataclass(frozen=True)
class Verdict:
    """What an answer decided: the outcome, the items approved, the labels ticked, the note."""

    decision: Decision
    approved: list[ReviewItem]
    selected: list[str]
    note: str | None


def decide(items: Sequence[ReviewItem], option: str, selected: Any, note: Any) -> Verdict:
    """Map the chosen ``option`` and the ``selected`` labels to a :class:`Verdict`.

    *Approve selected* needs at least one label, and every label must name an item shown; any
    option refuses unknown labels (an answer through the REST API can send anything).
    """
    labels = _labels(selected)
    known = {item.label: item for item in items}
    if unknown := [label for label in labels if label not in known]:
        raise ClipgenConfigError(
            f"The answer selected {', '.join(map(repr, unknown))}, which this review did not show; its "
            f"items are {', '.join(known) or 'none'}. Clear the review task to ask again."
        )
    text = str(note).strip() if note is not None else ""
    if option == APPROVE_ALL:
        return Verdict("approved", list(items), labels, text or None)
    if option == APPROVE_SELECTED:
        if not labels:
            raise ClipgenConfigError(
                f"{APPROVE_SELECTED!r} was chosen with no item selected: tick the items to keep under "
                f"'selected' (e.g. ['item 1']), or choose {APPROVE_ALL!r} or {REJECT!r}. Clear the review "
                "task to ask again."
            )
        chosen = set(labels)
        return Verdict("approved", [item for item in items if item.label in chosen], labels, text or None)
    if option == REGENERATE:
        return Verdict("regenerate", [], labels, text or None)
    if option == REJECT:
        return Verdict("rejected", [], labels, text or None)
    raise ClipgenConfigError(
        f"Unknown review option {option!r}: expected one of {APPROVE_ALL!r}, "
        f"{APPROVE_SELECTED!r}, {REGENERATE!r}, {REJECT!r}."
    )
