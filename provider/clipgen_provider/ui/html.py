"""The HTML around the UI's pages: one Jinja environment (autoescaped), the shared style, filters.

Pages are plain server-rendered HTML with no build step: they load inside Airflow's iframe, take
no stylesheet from it, and use one small inline script (the balance button, opening a task
instance in Airflow's UI rather than inside the frame).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

STYLE = Markup("""
:root { color-scheme: light dark; --muted: #6b7280; --line: #d1d5db; --accent: #2563eb; }
body { font: 14px/1.45 system-ui, sans-serif; margin: 16px; }
h1 { font-size: 18px; margin: 0 0 12px; } h2 { font-size: 15px; margin: 20px 0 8px; }
.clipgen-empty { color: var(--muted); padding: 24px 0; }
dl.clipgen-facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dl.clipgen-facts dt { color: var(--muted); }
pre { white-space: pre-wrap; background: rgba(127,127,127,.1); padding: 8px; border-radius: 4px; }
.clipgen-grid { display: flex; flex-wrap: wrap; gap: 12px; }
ul.clipgen-grid { list-style: none; padding: 0; margin: 0; }
figure.clipgen-media-item, .clipgen-gallery-item { margin: 0; width: 240px; }
img.clipgen-thumb { max-width: 240px; max-height: 180px; border-radius: 4px; display: block; }
video.clipgen-player { width: 240px; } audio.clipgen-player { width: 240px; }
figcaption, .clipgen-caption { font-size: 12px; color: var(--muted); word-break: break-all; }
table { border-collapse: collapse; } td, th { padding: 4px 10px; border-bottom: 1px solid var(--line);
  text-align: left; }
a { color: var(--accent); }
form#clipgen-filter { display: flex; gap: 8px; align-items: end; flex-wrap: wrap; margin-bottom: 12px; }
form#clipgen-filter label { display: flex; flex-direction: column; font-size: 12px; }
.clipgen-error { color: #b91c1c; }
dialog#clipgen-lightbox { padding: 0; border: 0; max-width: 95vw; max-height: 95vh; }
dialog#clipgen-lightbox img { max-width: 95vw; max-height: 95vh; display: block; cursor: zoom-out; }
""")

#: shows an image full size in a dialog (Airflow's iframe may not open windows), opens links
#: marked ``clipgen-ti-link`` in Airflow's UI (the host page, same origin) instead of inside the
#: frame, and reads a balance when its button is clicked
SCRIPT = Markup("""
document.addEventListener("click", async (event) => {
  const full = event.target.closest("a.clipgen-full");
  if (full) {
    const box = document.getElementById("clipgen-lightbox");
    document.getElementById("clipgen-lightbox-image").src = full.href;
    box.showModal();
    event.preventDefault();
    return;
  }
  if (event.target.id === "clipgen-lightbox" || event.target.id === "clipgen-lightbox-image") {
    event.target.closest("dialog").close();
    return;
  }
  const link = event.target.closest("a.clipgen-ti-link");
  if (link && window.parent !== window) {
    try {
      window.parent.history.pushState({}, "", link.href);
      window.parent.dispatchEvent(new PopStateEvent("popstate"));
      event.preventDefault();
    } catch (err) { /* not reachable: follow the link in the frame */ }
    return;
  }
  const button = event.target.closest("button.clipgen-balance-button");
  if (!button) return;
  const out = button.parentElement.querySelector("output.clipgen-balance-value");
  button.disabled = true;
  out.textContent = "reading…";
  try {
    const answer = await fetch(button.dataset.url, { credentials: "same-origin" });
    const body = await answer.json();
    out.textContent = answer.ok ? `${body.credits} credits` : (body.detail || answer.statusText);
    out.classList.toggle("clipgen-error", !answer.ok);
  } catch (err) {
    out.textContent = String(err);
    out.classList.add("clipgen-error");
  } finally {
    button.disabled = false;
  }
});
""")


def credits(value: float | None) -> str:
    """``12.5 credits``; ``—`` when unknown."""
    return "—" if value is None else f"{value:,.10g} credits"


def moment(value: datetime | None) -> str:
    """A timestamp as ``2026-12-03 13:21 UTC``."""
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def web_url(value: str | None) -> str:
    """``value`` if it is an http(s) URL or a relative one, else ``#`` (no ``javascript:`` links)."""
    if not value:
        return "#"
    scheme = urlsplit(value).scheme.lower()
    return value if scheme in ("", "http", "https") else "#"


#: the pages' templates (``ui/templates/*.html``), every value autoescaped
ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters.update(credits=credits, moment=moment, web_url=web_url)


_DOCUMENT_TEMPLATE = ENV.get_template("document.html")


def document(title: str, body: str) -> str:
    """A whole page: ``body`` (markup rendered by a template of :data:`ENV`) in the shared layout."""
    return _DOCUMENT_TEMPLATE.render(
        title=title,
        body=Markup(body),  # noqa: S704 - rendered by a template of ENV, which escapes every value
        style=STYLE,
        script=SCRIPT,
    )
