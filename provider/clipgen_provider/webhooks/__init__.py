"""Clipia webhooks: how a deferred task awaits one (see ``docs/webhooks.md``).

* ``signature``: sign and verify ``X-Clipia-Signature`` (pure functions; the sandbox uses them);
* ``mailbox``: the XCom through which a delivery reaches the waiting try, and when it may resume it;
* ``addressing``: the per-try delivery URL, kept per idempotency key (worker side);
* ``receiver``: the FastAPI app the plugin mounts on the API servers;
* ``_airflow_internals``: every Airflow-internal API the receiver relies on, in one place.

Importing the package imports nothing heavy, so the sandbox can sign deliveries without Airflow.
"""
