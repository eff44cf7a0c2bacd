"""No reference in the docs to a file, test or section that does not exist.

Scans README.md, CONTRIBUTING.md and docs/**/*.md as MkDocs renders them (Python-Markdown with the
site's extensions, so links and code inside fenced blocks are not mistaken for references), plus
the provider's docstrings, for:

* relative links ``[text](path#anchor)``: the file or directory exists; an anchor names a heading of
  the target page, slugged by the MkDocs (Python-Markdown ``toc``) rules;
* backticked repository paths (``dags/x.py``, ``docs/x.md``, ``tests/unit/``, globs such as
  ``tests/unit/test_webhook_*.py``) and tests (``tests/x.py::test_name``): they exist.
"""

from __future__ import annotations

import re
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import markdown
import pytest

from tests.conftest import REPO

PAGES = sorted([REPO / "README.md", REPO / "CONTRIBUTING.md", *(REPO / "docs").rglob("*.md")])
#: the top-level entries of the repository a backticked path may start with
REPO_ROOTS = ("dags/", "docs/", "tests/", "provider/", "scripts/", "bench/", ".ci/")
#: a repository path as written in a docstring: ``docs/webhooks.md#deploying``
DOCSTRING_PATH = re.compile(r"``((?:" + "|".join(re.escape(root) for root in REPO_ROOTS) + r")[^`\s]*)``")
PLACEHOLDERS = ("…", "...", "{", "<", "$")


class _References(HTMLParser):
    """Collects from rendered HTML: heading ids, link targets, and inline code (not code blocks)."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.code: list[str] = []
        self._in_pre = 0
        self._code_text: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if re.fullmatch(r"h[1-6]", tag) and attributes.get("id"):
            self.ids.add(str(attributes["id"]))
        elif tag == "a" and attributes.get("href"):
            self.links.append(str(attributes["href"]))
        elif tag == "pre":
            self._in_pre += 1
        elif tag == "code" and not self._in_pre:
            self._code_text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre":
            self._in_pre -= 1
        elif tag == "code" and self._code_text is not None:
            self.code.append("".join(self._code_text))
            self._code_text = None

    def handle_data(self, data: str) -> None:
        if self._code_text is not None:
            self._code_text.append(data)


@cache
def references(page: Path) -> _References:
    """``page`` rendered the way mkdocs.yml renders it (snippets left out: they are not links)."""
    html = markdown.markdown(
        page.read_text(),
        extensions=["admonition", "tables", "toc", "pymdownx.superfences"],
    )
    parser = _References()
    parser.feed(html)
    return parser


def broken_anchor(target: Path, anchor: str) -> str | None:
    if not anchor or target.suffix != ".md":
        return None
    if anchor not in references(target).ids:
        return f"#{anchor} is not a heading of {target.relative_to(REPO)}"
    return None


def check_link(page: Path, href: str) -> str | None:
    """Why ``href`` on ``page`` is broken, or None."""
    if re.match(r"^[a-z][a-z0-9+.-]*:", href) or href.startswith("//"):
        return None  # http:, https:, mailto: — not a repository reference
    path, _, anchor = unquote(href).partition("#")
    target = (page.parent / path).resolve() if path else page
    if not target.exists():
        return f"links to {path}, which does not exist"
    return broken_anchor(target, anchor)


def check_repo_path(token: str) -> str | None:
    """Why the backticked ``token`` (a repository path, maybe ``::test`` or ``#anchor``) is broken."""
    if any(mark in token for mark in PLACEHOLDERS):
        return None
    token = token.rstrip(".,;:")
    token, _, test_name = token.partition("::")
    token, _, anchor = token.partition("#")
    token = re.sub(r"(\.py):\w+$", r"\1", token)  # a snippet section: dags/x.py:howto_name
    if "*" in token:
        return None if list(REPO.glob(token)) else f"`{token}` matches no file"
    target = REPO / token
    if not target.exists():
        return f"`{token}` does not exist"
    if test_name and not re.search(rf"^(async )?def {re.escape(test_name)}\(", target.read_text(), re.M):
        return f"`{token}` has no test {test_name}"
    return broken_anchor(target, anchor)


@pytest.mark.parametrize("page", PAGES, ids=[str(page.relative_to(REPO)) for page in PAGES])
def test_links_and_paths_in_the_docs_exist(page: Path) -> None:
    found = references(page)
    problems = [problem for href in found.links if (problem := check_link(page, href))]
    problems += [
        problem
        for code in found.code
        if code.startswith(REPO_ROOTS) and " " not in code and (problem := check_repo_path(code))
    ]
    assert not problems, f"{page.relative_to(REPO)}: " + "; ".join(problems)


def test_paths_named_in_docstrings_exist() -> None:
    problems = [
        f"{source.relative_to(REPO)}: {problem}"
        for source in sorted((REPO / "provider" / "clipgen_provider").rglob("*.py"))
        for token in DOCSTRING_PATH.findall(source.read_text())
        if (problem := check_repo_path(token))
    ]
    assert not problems, "; ".join(problems)


@pytest.mark.parametrize(
    ("href", "broken"),
    [
        ("operators/clipia.md#never-paying-twice", False),
        ("operators/clipia.md#clipiagenerateoperator", False),  # a heading in backticks
        ("operators/clipia.md#no-such-section", True),
        ("no-such-page.md", True),
        ("https://example.com/missing.md", False),
        ("#trying-a-dag-offline-then-for-real", False),
    ],
)
def test_the_checker_itself(href: str, broken: bool) -> None:
    assert (check_link(REPO / "docs" / "quickstart.md", href) is not None) is broken
    assert (check_repo_path("tests/docs/test_docs_references.py::test_the_checker_itself") is None) is True
    assert check_repo_path("tests/docs/test_docs_references.py::test_nothing") is not None
    assert check_repo_path("tests/unit/test_webhook_*.py") is None
    assert check_repo_path("dags/no_such_dag.py") is not None
