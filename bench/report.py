"""Write the figures: ``docs/benchmarks.json`` whole, and this benchmark's sections of ``benchmarks.md``.

Other benchmarks (webhook latency, a cluster load run) keep their own ``##`` sections in the same
page; :func:`merge_sections` replaces only the sections named in :data:`OWNED` and keeps every other
section, in place, as it was.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from bench.sections import OWNED, PREAMBLE, render_sections

_HEADING = re.compile(r"^## (.+)$", re.MULTILINE)


def split_sections(text: str) -> tuple[str, list[tuple[str, str]]]:
    """The text before the first ``##`` heading, and each ``##`` section as (title, body)."""
    matches = list(_HEADING.finditer(text))
    if not matches:
        return text, []
    sections = []
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        sections.append((match.group(1).strip(), text[match.end() : end].strip("\n")))
    return text[: matches[0].start()], sections


def merge_sections(existing: str, ours: dict[str, str]) -> str:
    """``existing`` with our sections replaced (or inserted in :data:`OWNED` order), others kept.

    The page's introduction is kept as it is; a new page gets :data:`PREAMBLE`.
    """
    preamble, sections = split_sections(existing)
    merged: list[tuple[str, str]] = []
    for title, body in sections:
        if title in OWNED:
            if title in ours:
                merged.append((title, ours[title]))
        else:
            merged.append((title, body))
    present = {title for title, _ in merged}
    for title in OWNED:
        if title in ours and title not in present:
            index = _insert_at(merged, title)
            merged.insert(index, (title, ours[title]))
    body = "\n\n".join(f"## {title}\n\n{text.strip()}" for title, text in merged)
    return f"{(preamble.strip() or PREAMBLE.strip())}\n\n{body}\n"


def _insert_at(merged: list[tuple[str, str]], title: str) -> int:
    """Where an owned section goes: after the owned section listed before it, else at the top."""
    earlier = OWNED[: OWNED.index(title)]
    positions = [index for index, (name, _) in enumerate(merged) if name in earlier]
    return positions[-1] + 1 if positions else 0


def write_report(results: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write ``benchmarks.json`` and merge our sections into ``benchmarks.md`` under ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / "benchmarks.json", out_dir / "benchmarks.md"
    json_path.write_text(json.dumps(results, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    existing = md_path.read_text(encoding="utf-8") if md_path.exists() else ""
    md_path.write_text(merge_sections(existing, render_sections(results)), encoding="utf-8")
    return md_path, json_path
