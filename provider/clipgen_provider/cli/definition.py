"""What ``airflow clipgen …`` accepts: the commands, their arguments and help, nothing that runs them.

Airflow imports this module for every ``airflow`` command (it is named in the provider info's
``cli`` list), so it imports only ``airflow.cli.cli_config``, which the CLI has loaded already. The
functions that talk to the APIs live in :mod:`clipgen_provider.cli.commands` and are imported by
``lazy_load_command`` when one of these commands actually runs.

Airflow 3.2 and later load the commands from the provider info; Airflow 3.1 does not load CLI
commands from providers, so there the same commands run as ``python -m clipgen_provider.cli …``
(:func:`get_parser`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.cli.cli_config import (
    ARG_OUTPUT,
    ARG_VERBOSE,
    ActionCommand,
    Arg,
    GroupCommand,
    lazy_load_command,
)

if TYPE_CHECKING:
    import argparse

_COMMANDS = "clipgen_provider.cli.commands"

# The hooks' default connection ids, written out here so that this module imports no hook.
CLIPIA_DEFAULT_CONN_ID = "clipia_default"
CLIPWISE_DEFAULT_CONN_ID = "clipwise_default"

ARG_CLIPIA_CONN_ID = Arg(
    ("--conn-id",),
    help=f"The Clipia connection to use (default: {CLIPIA_DEFAULT_CONN_ID})",
    default=CLIPIA_DEFAULT_CONN_ID,
)
ARG_CLIPWISE_CONN_ID = Arg(
    ("--conn-id",),
    help=f"The Clipwise connection to use (default: {CLIPWISE_DEFAULT_CONN_ID})",
    default=CLIPWISE_DEFAULT_CONN_ID,
)
ARG_MODEL_SLUG = Arg(("slug",), help="A Clipia model slug, e.g. nano-banana-2", metavar="SLUG")
ARG_MODEL = Arg(("model",), help="The Clipia model slug to price the input for", metavar="MODEL")
ARG_INPUT = Arg(
    ("--input",),
    help='The model input: a JSON object, e.g. \'{"prompt": "a red fox"}\', or @FILE to read it from a file',
    required=True,
    metavar="JSON",
)
ARG_REQUEST_ID = Arg(
    ("request_id",), help="A Clipia request id (what a submit returned)", metavar="REQUEST_ID"
)
ARG_TIMEOUT = Arg(
    ("--timeout",),
    help="Longest wait in seconds; then exit with code 124 and leave the request running "
    "(default: [clipgen] default_wait_timeout, 6 hours; inf waits with no deadline)",
    type=float,
)
ARG_POLL_INTERVAL = Arg(
    ("--poll-interval",),
    help="Seconds between status polls (default: 2)",
    type=float,
    default=2.0,
)
ARG_FORMAT_KIND = Arg(("--kind",), help="Only formats or only tools", choices=("format", "tool"))
ARG_FORMAT_PLATFORM = Arg(
    ("--platform",), help="Only one platform's formats", choices=("clipwise", "video_company")
)
ARG_INCLUDE_INACTIVE = Arg(
    ("--include-inactive",), help="List inactive formats too", action="store_true", default=False
)
ARG_FORMAT_ID = Arg(
    ("format_id",), help="A format's slug, template name, display name or alias", metavar="FORMAT"
)
ARG_RESOURCE_TYPE = Arg(
    ("resource_type",), help="A resource type, e.g. avatars, voices, products, poses", metavar="TYPE"
)
ARG_RESOURCE_ID = Arg(("resource_id",), help="The resource's id", metavar="ID")
ARG_VIDEO_FORMAT = Arg(
    ("--video-format",), help="Only the resources a generation of this format can use", metavar="FORMAT"
)
ARG_GENERATION_ID = Arg(("generation_id",), help="A Clipwise generation id (gen_…)", metavar="ID")

CLIPIA_ARGS = (ARG_CLIPIA_CONN_ID, ARG_OUTPUT, ARG_VERBOSE)
CLIPWISE_ARGS = (ARG_CLIPWISE_CONN_ID, ARG_OUTPUT, ARG_VERBOSE)


def _command(name: str, help: str, func: str, *args: Arg, clipwise: bool = False) -> ActionCommand:
    """One command run by ``clipgen_provider.cli.commands.<func>``, with the common arguments."""
    common = CLIPWISE_ARGS if clipwise else CLIPIA_ARGS
    return ActionCommand(
        name=name, help=help, func=lazy_load_command(f"{_COMMANDS}.{func}"), args=(*args, *common)
    )


CLIPGEN_COMMANDS: tuple[GroupCommand | ActionCommand, ...] = (
    GroupCommand(
        name="models",
        help="The Clipia model catalog",
        subcommands=(
            _command("list", "List Clipia's models and their prices", "models_list"),
            _command("get", "Show one model: pricing, input schema, limits", "models_get", ARG_MODEL_SLUG),
        ),
    ),
    _command(
        "estimate",
        "Price a Clipia input without submitting it (credits, and input keys the model would ignore)",
        "estimate",
        ARG_MODEL,
        ARG_INPUT,
    ),
    _command("balance", "Show the Clipia account's credits and 30-day usage", "balance"),
    _command(
        "status",
        "Show a Clipia request's status, queue position, progress and logs",
        "status",
        ARG_REQUEST_ID,
    ),
    _command(
        "result",
        "Show a Clipia request's result (lifecycle fields only while it runs)",
        "result",
        ARG_REQUEST_ID,
    ),
    _command(
        "wait",
        "Wait until a Clipia request ends, then show its result (status changes go to stderr)",
        "wait",
        ARG_REQUEST_ID,
        ARG_TIMEOUT,
        ARG_POLL_INTERVAL,
    ),
    GroupCommand(
        name="formats",
        help="The Clipwise catalog of formats and tools",
        subcommands=(
            _command(
                "list",
                "List Clipwise formats and tools",
                "formats_list",
                ARG_FORMAT_KIND,
                ARG_FORMAT_PLATFORM,
                ARG_INCLUDE_INACTIVE,
                clipwise=True,
            ),
            _command(
                "get",
                "Show one format: inputs, outputs, examples",
                "formats_get",
                ARG_FORMAT_ID,
                clipwise=True,
            ),
        ),
    ),
    GroupCommand(
        name="resources",
        help="Clipwise resources (avatars, voices, products, …)",
        subcommands=(
            _command(
                "list",
                "List the resources of one type (every page)",
                "resources_list",
                ARG_RESOURCE_TYPE,
                ARG_VIDEO_FORMAT,
                clipwise=True,
            ),
            _command(
                "get",
                "Show one resource",
                "resources_get",
                ARG_RESOURCE_TYPE,
                ARG_RESOURCE_ID,
                clipwise=True,
            ),
        ),
    ),
    GroupCommand(
        name="generations",
        help="Clipwise generations",
        subcommands=(
            _command(
                "get",
                "Show a generation: status, progress, outputs",
                "generations_get",
                ARG_GENERATION_ID,
                clipwise=True,
            ),
            _command(
                "cancel",
                "Cancel a generation (refused when the work can no longer stop)",
                "generations_cancel",
                ARG_GENERATION_ID,
                clipwise=True,
            ),
        ),
    ),
)


def get_clipgen_cli_commands() -> list[GroupCommand]:
    """The ``clipgen`` command group; named in the provider info's ``cli`` list (Airflow 3.2+)."""
    return [
        GroupCommand(
            name="clipgen",
            help="Clipia and Clipwise: catalogs, estimates, balance, jobs",
            description="Read the Clipia and Clipwise catalogs, price inputs, check the balance and "
            "follow or cancel jobs, with the credentials of an Airflow connection (--conn-id). "
            "Every command prints --output table, json, yaml or plain.",
            subcommands=CLIPGEN_COMMANDS,
        )
    ]


def get_parser(prog: str = "python -m clipgen_provider.cli") -> argparse.ArgumentParser:
    """A parser of the ``clipgen`` commands on their own (Airflow 3.1, which loads no provider CLI).

    Built with the CLI's own ``_add_command``, as the Amazon and Edge providers' ``get_parser`` do,
    so options and help read exactly as under ``airflow clipgen``.
    """
    from airflow.cli.cli_parser import DefaultHelpParser, LazyRichHelpFormatter, _add_command

    parser = DefaultHelpParser(
        prog=prog,
        formatter_class=LazyRichHelpFormatter,
        description=get_clipgen_cli_commands()[0].description,
    )
    subparsers = parser.add_subparsers(dest="subcommand", metavar="COMMAND")
    subparsers.required = True
    for command in sorted(CLIPGEN_COMMANDS, key=lambda command: command.name):
        _add_command(subparsers, command)
    return parser
