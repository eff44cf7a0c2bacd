"""Where a try's Clipia webhook goes: its URL, the record keeping that URL per idempotency key, and
the mailbox behind it. Worker-side and light: no FastAPI, no Airflow ORM.

The URL names a task instance *try* (``.../clipgen/clipia/deliveries/{ti_id}``). The submit body
includes it, and the API refuses a known idempotency key with a different body, so a key keeps
the URL it was first submitted with: it is recorded in ``task_state_store`` before the submit,
and a try resubmitting that key (after a crash) sends the recorded URL and gets the same request
back. That request's webhook then goes to the earlier try, which the receiver ignores, so such
a try waits by polling (``docs/webhooks.md``, "Never paying twice with a per-try URL").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clipgen_provider.webhooks.mailbox import MailboxRef, push_placeholder

if TYPE_CHECKING:
    from airflow.sdk import Context

#: URL prefix under which the plugin mounts the receiver
URL_PREFIX = "/clipgen"
#: path of the delivery route inside the receiver app
DELIVERY_PATH = "/clipia/deliveries/{ti_id}"
#: task_state_store key of ``{"key": idempotency key, "url": webhook URL it was submitted with}``
_URL_RECORD = "clipia_webhook_url"


def delivery_path(ti_id: str) -> str:
    """The path, under the API servers' public base URL, of the deliveries for try ``ti_id``."""
    return URL_PREFIX + DELIVERY_PATH.format(ti_id=ti_id)


def _record(context: Context) -> dict[str, Any]:
    store = context.get("task_state_store")
    record = store.get(_URL_RECORD) if store is not None else None
    return record if isinstance(record, dict) else {}


def recorded_url(context: Context, idempotency_key: str) -> str | None:
    """The webhook URL ``idempotency_key`` was already submitted with (by this or an earlier try)."""
    record = _record(context)
    url = record.get("url")
    return str(url) if record.get("key") == idempotency_key and url else None


def new_address(
    context: Context, idempotency_key: str, base_url: str, conn_id: str
) -> tuple[MailboxRef, str]:
    """Open this try's mailbox and record its URL for ``idempotency_key``; call before the submit."""
    ref = push_placeholder(context["ti"], conn_id)
    url = base_url.rstrip("/") + delivery_path(ref.ti_id)
    store = context.get("task_state_store")
    if store is not None:
        from clipgen_provider.operators._ledger import never_expire

        store.set(_URL_RECORD, {"key": idempotency_key, "url": url}, retention=never_expire())
    return ref, url


def own_mailbox(context: Context) -> MailboxRef | None:
    """This try's mailbox, if this try's own submit addressed its webhook there; else None."""
    ref = MailboxRef.of(context["ti"])
    url = _record(context).get("url")
    return ref if isinstance(url, str) and url.endswith(delivery_path(ref.ti_id)) else None
