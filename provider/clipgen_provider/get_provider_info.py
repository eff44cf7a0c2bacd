"""Provider metadata that Airflow discovers through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from clipgen_provider import __version__
from clipgen_provider.waits import CONFIG_SECTION, DEFAULT_WAIT_TIMEOUT_SECONDS, WAIT_TIMEOUT_OPTION

_DOCS_URL = "https://github.com/clipgen/airflow-provider-clipgen/tree/main/docs"


def _api_connection_type(
    *,
    conn_type: str,
    hook_class: str,
    hook_name: str,
    key_label: str,
    key_placeholder: str,
    default_base_url: str,
    extra_fields: dict[str, Any],
) -> dict[str, Any]:
    """Describe one API-key connection type: key in ``password``, base URL in ``host``."""
    return {
        "hook-class-name": hook_class,
        "hook-name": hook_name,
        "connection-type": conn_type,
        "conn-fields": extra_fields,
        "ui-field-behaviour": {
            "hidden-fields": ["schema", "port", "login", "extra"],
            "relabeling": {"host": "Base URL", "password": key_label},
            "placeholders": {
                "host": f"{default_base_url} (default; http:// only for localhost)",
                "password": key_placeholder,
            },
        },
    }


def get_provider_info() -> dict[str, Any]:
    """Return the provider description Airflow's ProvidersManager reads."""
    return {
        "package-name": "airflow-provider-clipgen",
        "name": "Clipgen (Clipia and Clipwise)",
        "description": "Generate images, video, speech and music with Clipia and Clipwise from Airflow DAGs.",
        "versions": [__version__],
        "documentation-url": _DOCS_URL,
        "integrations": [
            {
                "integration-name": "Clipia",
                "external-doc-url": "https://api.clipia.ai",
                "tags": ["service"],
            },
            {
                "integration-name": "Clipwise",
                "external-doc-url": "https://app.clipwise.ai",
                "tags": ["service"],
            },
        ],
        "hooks": [
            {"integration-name": "Clipia", "python-modules": ["clipgen_provider.hooks.clipia"]},
            {"integration-name": "Clipwise", "python-modules": ["clipgen_provider.hooks.clipwise"]},
        ],
        "operators": [
            {
                "integration-name": "Clipia",
                "python-modules": [
                    "clipgen_provider.operators.clipia",
                    "clipgen_provider.operators.cost",
                    "clipgen_provider.operators.review",
                ],
            },
            {"integration-name": "Clipwise", "python-modules": ["clipgen_provider.operators.clipwise"]},
        ],
        "sensors": [
            {
                "integration-name": "Clipia",
                "python-modules": [
                    "clipgen_provider.sensors.clipia",
                    "clipgen_provider.sensors.clipia_balance",
                ],
            },
            {"integration-name": "Clipwise", "python-modules": ["clipgen_provider.sensors.clipwise"]},
        ],
        "triggers": [
            {
                "integration-name": "Clipia",
                "python-modules": [
                    "clipgen_provider.triggers.clipia",
                    "clipgen_provider.triggers.clipia_webhook",
                    "clipgen_provider.triggers.clipia_balance",
                ],
            },
            {"integration-name": "Clipwise", "python-modules": ["clipgen_provider.triggers.clipwise"]},
        ],
        "connection-types": [
            _api_connection_type(
                conn_type="clipia",
                hook_class="clipgen_provider.hooks.clipia.ClipiaHook",
                hook_name="Clipia",
                key_label="API key",
                key_placeholder="clipia_live_... or clipia_test_...",
                default_base_url="https://api.clipia.ai",
                extra_fields={
                    "webhook_secrets": {
                        "label": "Webhook signing secret(s)",
                        "description": "Comma-separated; every listed secret is accepted (rotation).",
                        "schema": {"type": ["string", "null"], "format": "password"},
                    },
                    "webhook_base_url": {
                        "label": "Public webhook base URL",
                        "description": "Address at which Clipia reaches this deployment's API servers, "
                        "e.g. https://airflow.example.com",
                        "schema": {"type": ["string", "null"], "format": "url"},
                    },
                },
            ),
            _api_connection_type(
                conn_type="clipwise",
                hook_class="clipgen_provider.hooks.clipwise.ClipwiseHook",
                hook_name="Clipwise",
                key_label="API token",
                key_placeholder="cw_live_...",
                default_base_url="https://app.clipwise.ai",
                extra_fields={},
            ),
        ],
        "task-decorators": [
            {"class-name": "clipgen_provider.decorators.clipia.clipia_task", "name": "clipia"},
            {"class-name": "clipgen_provider.decorators.clipwise.clipwise_task", "name": "clipwise"},
        ],
        "extra-links": ["clipgen_provider.links.ClipgenMediaLink"],
        "config": {
            CONFIG_SECTION: {
                "description": "Options of the Clipia and Clipwise operators.",
                "options": {
                    WAIT_TIMEOUT_OPTION: {
                        "description": "Longest wait, in seconds, of a generate (or extract-url) task "
                        "for its job when the task sets neither wait_timeout nor execution_timeout. "
                        "Then the task fails with a timeout (a Clipwise generation is cancelled if it "
                        "can still stop); a retry re-attaches to the job. 6 hours is far beyond a "
                        "render plus a busy queue, and within the APIs' 24-hour idempotency window. "
                        "Set inf for waits with no deadline; a task asks for one with "
                        'wait_timeout=float("inf").',
                        "version_added": "0.1.0",
                        "type": "float",
                        "example": "3600",
                        "default": str(int(DEFAULT_WAIT_TIMEOUT_SECONDS)),
                    }
                },
            }
        },
        # the plugin is declared once, as the `airflow.plugins` entry point (always loaded): a second
        # declaration here makes Airflow report "plugin already registered" as an import error
        # `airflow clipgen …` (Airflow 3.2+; on 3.1: python -m clipgen_provider.cli)
        "cli": ["clipgen_provider.cli.definition.get_clipgen_cli_commands"],
    }
