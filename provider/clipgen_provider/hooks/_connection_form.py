"""The connection form as the hook methods Airflow 3.1 reads, built from the provider info.

Airflow 3.2 and later take a connection type's form from the provider info (``conn-fields`` and
``ui-field-behaviour`` in :func:`clipgen_provider.get_provider_info.get_provider_info`) and then
skip the hook's methods. Airflow 3.1 reads only ``get_ui_field_behaviour`` and
``get_connection_form_widgets`` of the hook class itself (not inherited ones), the widgets built
with WTForms, which its API server mocks when Flask-AppBuilder is not installed. The hooks answer
those from the provider info, so the form is declared once.
"""

from __future__ import annotations

from typing import Any


def _connection_type(conn_type: str) -> dict[str, Any]:
    from clipgen_provider.get_provider_info import get_provider_info

    (declared,) = [
        config for config in get_provider_info()["connection-types"] if config["connection-type"] == conn_type
    ]
    return dict(declared)


def ui_field_behaviour(conn_type: str) -> dict[str, Any]:
    """The ``ui-field-behaviour`` of ``conn_type`` with the keys ``get_ui_field_behaviour`` uses."""
    behaviour = _connection_type(conn_type)["ui-field-behaviour"]
    return {
        "hidden_fields": list(behaviour["hidden-fields"]),
        "relabeling": dict(behaviour["relabeling"]),
        "placeholders": dict(behaviour["placeholders"]),
    }


def connection_form_widgets(conn_type: str) -> dict[str, Any]:
    """The ``conn-fields`` of ``conn_type`` as WTForms fields: a password field where the schema
    says ``format: password`` (shown masked), a text field otherwise."""
    from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
    from flask_babel import lazy_gettext
    from wtforms import PasswordField, StringField

    widgets: dict[str, Any] = {}
    for name, field in _connection_type(conn_type)["conn-fields"].items():
        secret = field["schema"].get("format") == "password"
        field_class, widget = (
            (PasswordField, BS3PasswordFieldWidget) if secret else (StringField, BS3TextFieldWidget)
        )
        widgets[name] = field_class(
            lazy_gettext(field["label"]), widget=widget(), description=field.get("description", "")
        )
    return widgets
