"""What the ``airflow clipgen …`` commands do: one hook call each, printed in Airflow's formats.

Imported only when a ``clipgen`` command runs (``lazy_load_command`` in
:mod:`clipgen_provider.cli.definition`), so the HTTP stack costs nothing to other ``airflow``
commands. Every command reads its credentials from an Airflow connection (``--conn-id``) and
exits 0 on success; otherwise it prints one line on stderr (the API's own words, never the key,
never a traceback) and exits non-zero: 1 for an error, 124 when ``wait`` reached its
``--timeout``, 130 when interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn

from airflow.providers.common.compat.sdk import AirflowNotFoundException
from airflow.utils.cli import suppress_logs_and_warning
from airflow.utils.providers_configuration_loader import providers_configuration_loaded

from clipgen_provider.cli.interrupt import latched_interrupt
from clipgen_provider.cli.output import one_line, print_object, print_rows
from clipgen_provider.exceptions import ClipgenError
from clipgen_provider.hooks._transport import RetryPolicy
from clipgen_provider.hooks.clipia import ClipiaHook, clipia_job_state
from clipgen_provider.hooks.clipwise import ClipwiseHook
from clipgen_provider.jobs import StatusTracker
from clipgen_provider.waits import WaitBound, wait_bound

#: exit code of a ``wait`` that reached its ``--timeout`` while the request still runs (as ``timeout(1)``)
EXIT_TIMEOUT = 124
#: exit code after Ctrl-C (128 + SIGINT, as shells report it)
EXIT_INTERRUPTED = 130
#: a person at a terminal wants an answer soon: fewer attempts than a task makes
CLI_RETRY = RetryPolicy(max_attempts=3)

Command = Callable[[argparse.Namespace], None]


class CommandError(Exception):
    """A command could not do what was asked: printed as one line on stderr, then exit ``exit_code``."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _exit(message: object, exit_code: int) -> NoReturn:
    print(one_line(message), file=sys.stderr, flush=True)
    raise SystemExit(exit_code)


def _log_everything() -> None:
    """``--verbose``: debug logs on stderr (stdout carries only the output), and one line per HTTP
    call (method, URL, status; never headers)."""
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    for handler in root.handlers:
        handler.setLevel(logging.DEBUG)
        if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout:
            handler.setStream(sys.stderr)
    logging.getLogger("httpx").setLevel(logging.INFO)  # Airflow quiets it to WARNING
    logging.getLogger("httpcore").setLevel(logging.INFO)  # its debug lines trace every socket step


def clipgen_command(func: Command) -> Command:
    """Run ``func`` as a ``clipgen`` command: quiet logs unless ``--verbose``, one-line errors."""

    @functools.wraps(func)
    def run(args: argparse.Namespace) -> None:
        if args.verbose:
            _log_everything()
        try:
            func(args)
        except CommandError as err:
            _exit(err, err.exit_code)
        except ClipgenError as err:
            _exit(err, 1)
        except AirflowNotFoundException as err:
            _exit(
                f"{err}: create it (airflow connections add, the UI, or an AIRFLOW_CONN_… variable) "
                "or name another one with --conn-id.",
                1,
            )
        except KeyboardInterrupt:
            _exit("Interrupted.", EXIT_INTERRUPTED)

    return suppress_logs_and_warning(providers_configuration_loaded(run))


def _clipia(args: argparse.Namespace) -> ClipiaHook:
    return ClipiaHook(args.conn_id, retry=CLI_RETRY)


def _clipwise(args: argparse.Namespace) -> ClipwiseHook:
    return ClipwiseHook(args.conn_id, retry=CLI_RETRY)


# -- Clipia ---------------------------------------------------------------------------------------
def model_row(model: Mapping[str, Any]) -> dict[str, Any]:
    """A model as one row of ``models list``: what it is and what it costs."""
    pricing = model.get("pricing") or {}
    return {
        "slug": model.get("slug"),
        "type": model.get("type"),
        "name": model.get("name"),
        "credits": pricing.get("credits"),
        "billing_unit": pricing.get("billing_unit"),
        "estimate_required": pricing.get("estimate_required"),
        "available": pricing.get("available"),
    }


def read_input(value: str) -> dict[str, Any]:
    """The ``--input`` value as a model input: a JSON object given inline or as ``@FILE``."""
    source = "--input"
    if value.startswith("@"):
        path = Path(value[1:]).expanduser()
        source = f"--input file {str(path)!r}"
        try:
            value = path.read_text(encoding="utf-8")
        except OSError as err:
            raise CommandError(f"Cannot read {source}: {err.strerror or err}.") from None
    example = '\'{"prompt": "a red fox"}\''
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as err:
        raise CommandError(
            f"{source} is not valid JSON ({err.msg} at line {err.lineno} column {err.colno}); "
            f"pass a JSON object such as {example}."
        ) from None
    if not isinstance(parsed, dict):
        raise CommandError(
            f"{source} must be a JSON object of model parameters such as {example}, "
            f"not {json.dumps(parsed)[:60]}."
        )
    return parsed


@clipgen_command
def models_list(args: argparse.Namespace) -> None:
    """``models list``: every model of the catalog, one row each."""
    hook = _clipia(args)
    with hook:
        models = hook.list_models()
    print_rows([model_row(model) for model in models], args.output)


@clipgen_command
def models_get(args: argparse.Namespace) -> None:
    """``models get SLUG``: the whole model card."""
    hook = _clipia(args)
    with hook:
        print_object(hook.get_model(args.slug), args.output)


@clipgen_command
def estimate(args: argparse.Namespace) -> None:
    """``estimate MODEL --input JSON``: the credits a submit would cost; nothing is submitted."""
    model_input = read_input(args.input)
    hook = _clipia(args)
    with hook:
        answer = hook.estimate(args.model, model_input)
    print_object({"model": args.model, **answer}, args.output)


@clipgen_command
def balance(args: argparse.Namespace) -> None:
    """``balance``: the account's credits and 30-day usage."""
    hook = _clipia(args)
    with hook:
        print_object(hook.get_account(), args.output)


@clipgen_command
def status(args: argparse.Namespace) -> None:
    """``status REQUEST_ID``: status, queue position, progress and logs."""
    hook = _clipia(args)
    with hook:
        print_object(hook.get_status(args.request_id), args.output)


@clipgen_command
def result(args: argparse.Namespace) -> None:
    """``result REQUEST_ID``: the result (only lifecycle fields while the request runs)."""
    hook = _clipia(args)
    with hook:
        print_object(hook.get_result(args.request_id), args.output)


def wait_for_request(
    hook: ClipiaHook,
    request_id: str,
    bound: WaitBound,
    poll_interval: float,
    *,
    report: Callable[[str], None],
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll the request's status until it ends, then return its result.

    Each status change goes to ``report``. Reaching ``bound`` raises :class:`CommandError` with
    :data:`EXIT_TIMEOUT`; the request itself keeps running (Clipia has no cancel).
    """
    deadline = bound.deadline(clock())
    tracker = StatusTracker()
    while True:
        state = clipia_job_state(hook.get_status(request_id))
        change = tracker.change(state)
        if change:
            report(f"{request_id}: {change}")
        if state.terminal:
            return hook.get_result(request_id)
        pause = poll_interval
        if deadline is not None:
            left = deadline - clock()
            if left <= 0:
                raise CommandError(
                    f"Clipia request {request_id} is still {state.describe()} after {bound.seconds:g} s "
                    f"({bound.source}); it keeps running: run wait {request_id} again to keep waiting.",
                    EXIT_TIMEOUT,
                )
            pause = min(pause, left)
        sleep(pause)


def _report(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@clipgen_command
def wait(args: argparse.Namespace) -> None:
    """``wait REQUEST_ID``: poll until the request ends, print its result; exit 1 unless COMPLETED."""
    if args.poll_interval <= 0:
        raise CommandError(
            f"--poll-interval must be a positive number of seconds, not {args.poll_interval:g}."
        )
    if args.timeout is None:
        bound = wait_bound(None, None)
    elif args.timeout > 0:
        bound = WaitBound(args.timeout, "--timeout")
    else:
        raise CommandError(
            f"--timeout must be a positive number of seconds (inf: no deadline), not {args.timeout:g}."
        )
    hook = _clipia(args)
    with hook, latched_interrupt() as interrupt:
        try:
            answer = wait_for_request(
                hook, args.request_id, bound, args.poll_interval, report=_report, sleep=interrupt.sleep
            )
        except KeyboardInterrupt:
            raise CommandError(
                f"Stopped waiting; Clipia request {args.request_id} keeps running: run wait "
                f"{args.request_id} again to keep waiting.",
                EXIT_INTERRUPTED,
            ) from None
    print_object(answer, args.output)
    state = clipia_job_state(answer)
    if not state.succeeded:
        raise CommandError(f"Clipia request {args.request_id} ended {state.describe()}")


# -- Clipwise -------------------------------------------------------------------------------------
def format_row(fmt: Mapping[str, Any]) -> dict[str, Any]:
    """A format as one row of ``formats list``: its name, kind and what it needs."""
    return {
        "slug": fmt.get("slug"),
        "kind": fmt.get("kind"),
        "platform": fmt.get("platform"),
        "display_name": fmt.get("display_name"),
        "required_inputs": fmt.get("required_inputs"),
    }


def resource_row(resource: Mapping[str, Any]) -> dict[str, Any]:
    """A resource as one row of ``resources list``."""
    return {
        "id": resource.get("id"),
        "display_name": resource.get("display_name"),
        "source_kind": resource.get("source_kind"),
        "file_type": resource.get("file_type"),
    }


@clipgen_command
def formats_list(args: argparse.Namespace) -> None:
    """``formats list``: the catalog of formats and tools, one row each."""
    hook = _clipwise(args)
    with hook:
        formats = hook.list_formats(args.kind, args.platform, args.include_inactive)
    print_rows([format_row(fmt) for fmt in formats], args.output)


@clipgen_command
def formats_get(args: argparse.Namespace) -> None:
    """``formats get FORMAT``: the whole format card."""
    hook = _clipwise(args)
    with hook:
        print_object(hook.get_format(args.format_id), args.output)


@clipgen_command
def resources_list(args: argparse.Namespace) -> None:
    """``resources list TYPE``: every resource of the type (all pages), one row each."""
    hook = _clipwise(args)
    with hook:
        resources = list(hook.iter_resources(args.resource_type, video_format=args.video_format))
    print_rows([resource_row(resource) for resource in resources], args.output)


@clipgen_command
def resources_get(args: argparse.Namespace) -> None:
    """``resources get TYPE ID``: one resource."""
    hook = _clipwise(args)
    with hook:
        print_object(hook.get_resource(args.resource_type, args.resource_id), args.output)


@clipgen_command
def generations_get(args: argparse.Namespace) -> None:
    """``generations get ID``: status, progress, outputs, error."""
    hook = _clipwise(args)
    with hook:
        print_object(hook.get_generation(args.generation_id), args.output)


@clipgen_command
def generations_cancel(args: argparse.Namespace) -> None:
    """``generations cancel ID``: cancel, then show the generation (the API refuses when it cannot stop)."""
    hook = _clipwise(args)
    with hook:
        print_object(hook.cancel_generation(args.generation_id), args.output)
