"""The ``airflow clipgen`` pieces one at a time: output shaping, --input parsing, the wait loop,
the error wrapper, the command definitions, and what importing the definitions costs."""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from typing import Any, cast

import pytest
import yaml

from clipgen_provider.cli import commands, definition
from clipgen_provider.cli.commands import (
    CommandError,
    clipgen_command,
    model_row,
    read_input,
    wait_for_request,
)
from clipgen_provider.cli.interrupt import latched_interrupt
from clipgen_provider.cli.output import flatten, object_rows, one_line, print_object, print_rows, table_cell
from clipgen_provider.exceptions import ClipiaApiError
from clipgen_provider.hooks.clipia import ClipiaHook
from clipgen_provider.hooks.clipwise import ClipwiseHook
from clipgen_provider.waits import WaitBound


# -- output ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        ("fox", "fox"),
        (4, "4"),
        (2.5, "2.5"),
        (True, "True"),
        (["prompt", "voice"], "prompt, voice"),
        ([], ""),
        ({"credits": 4}, '{"credits":4}'),
        ([{"url": "u"}], '[{"url":"u"}]'),
    ],
)
def test_table_cell(value, text):
    assert table_cell(value) == text


def test_flatten_spreads_objects_and_lists_of_objects_but_keeps_plain_lists():
    answer = {
        "account_id": "acct_1",
        "balance": {"credits": 10},
        "output": {"images": [{"url": "a"}, {"url": "b", "size": {"w": 1}}]},
        "aliases": ["x", "y"],
        "meta": {},
        "error": None,
    }
    assert flatten(answer) == {
        "account_id": "acct_1",
        "balance.credits": 10,
        "output.images.0.url": "a",
        "output.images.1.url": "b",
        "output.images.1.size.w": 1,
        "aliases": ["x", "y"],
        "meta": {},
        "error": None,
    }


def test_object_rows_are_property_name_value_pairs_in_order():
    assert object_rows({"b": 1, "a": {"c": 2}}) == [
        {"property_name": "b", "property_value": 1},
        {"property_name": "a.c", "property_value": 2},
    ]


ROWS = [
    {"slug": "nano-banana-2", "credits": 4, "available": True, "note": None, "inputs": ["prompt"]},
    {"slug": "seedance", "credits": 2.5, "available": False, "note": "per second", "inputs": []},
]


def test_json_and_yaml_keep_the_api_types(capsys):
    print_rows(ROWS, "json")
    assert json.loads(capsys.readouterr().out) == ROWS
    print_rows(ROWS, "yaml")
    assert yaml.safe_load(capsys.readouterr().out) == ROWS


def test_plain_and_table_print_one_line_per_row(capsys):
    print_rows(ROWS, "plain")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["slug", "credits", "available", "note", "inputs"]
    assert lines[1].split() == ["nano-banana-2", "4", "True", "prompt"]
    assert lines[2].split() == ["seedance", "2.5", "False", "per", "second"]
    print_rows(ROWS, "table")
    table = capsys.readouterr().out
    assert "slug" in table
    assert "nano-banana-2 | 4" in table


def test_print_object_as_property_rows_or_as_a_one_item_list(capsys):
    account = {"account_id": "acct_1", "balance": {"credits": 10}}
    print_object(account, "plain")
    lines = capsys.readouterr().out.splitlines()
    assert [line.split() for line in lines] == [
        ["property_name", "property_value"],
        ["account_id", "acct_1"],
        ["balance.credits", "10"],
    ]
    print_object(account, "json")
    assert json.loads(capsys.readouterr().out) == [account]


def test_an_unknown_output_format_is_refused():
    with pytest.raises(ValueError, match="Unknown output format 'csv'"):
        print_rows(ROWS, "csv")


def test_one_line():
    assert one_line("Clipia HTTP 400:\n  bad\tinput ") == "Clipia HTTP 400: bad input"


def test_model_row_without_pricing():
    assert model_row({"slug": "m", "type": "text", "name": "M"}) == {
        "slug": "m",
        "type": "text",
        "name": "M",
        "credits": None,
        "billing_unit": None,
        "estimate_required": None,
        "available": None,
    }


# -- --input --------------------------------------------------------------------------------------
def test_read_input_inline_and_from_a_file(tmp_path):
    assert read_input('{"prompt": "fox"}') == {"prompt": "fox"}
    path = tmp_path / "input.json"
    path.write_text('{"prompt": "owl", "num_images": 2}')
    assert read_input(f"@{path}") == {"prompt": "owl", "num_images": 2}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            '{"prompt": ',
            "--input is not valid JSON (Expecting value at line 1 column 12); pass a JSON object",
        ),
        ("[1, 2]", "--input must be a JSON object of model parameters such as"),
        ("@/nonexistent/input.json", "Cannot read --input file '/nonexistent/input.json': No such file"),
    ],
)
def test_read_input_says_what_is_wrong(value, message):
    with pytest.raises(CommandError) as caught:
        read_input(value)
    assert str(caught.value).startswith(message)
    assert caught.value.exit_code == 1


# -- the wait loop --------------------------------------------------------------------------------
class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class ScriptedRequest:
    """A request whose status answers follow a script (the last one repeats)."""

    def __init__(self, *statuses: dict[str, Any]) -> None:
        self.statuses = list(statuses)
        self.result_reads = 0

    def get_status(self, request_id: str) -> dict[str, Any]:
        answer = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return {"request_id": request_id, **answer}

    def get_result(self, request_id: str) -> dict[str, Any]:
        self.result_reads += 1
        return {"request_id": request_id, "status": "COMPLETED", "output": {}}


def wait_on(
    request: ScriptedRequest,
    timeout: float,
    sleep: Callable[[float], None],
    clock: Callable[[], float] = time.time,
    report: Callable[[str], None] = lambda line: None,
) -> dict[str, Any]:
    """``wait_for_request`` on ``req_1`` with ``--timeout timeout`` and ``--poll-interval 2``."""
    return wait_for_request(
        cast(ClipiaHook, request), "req_1", WaitBound(timeout, "--timeout"), 2.0,
        report=report, clock=clock, sleep=sleep,
    )  # fmt: skip


def test_wait_reports_each_change_once_and_returns_the_result():
    clock = FakeClock()
    request = ScriptedRequest(
        {"status": "IN_QUEUE", "queue_position": 1},
        {"status": "IN_QUEUE", "queue_position": 1},
        {"status": "IN_PROGRESS", "progress": 50},
        {"status": "COMPLETED"},
    )
    lines: list[str] = []
    answer = wait_on(request, 60, clock.sleep, clock.time, lines.append)
    assert answer["status"] == "COMPLETED"
    assert request.result_reads == 1
    assert lines == ["req_1: IN_QUEUE (queue position 1)", "req_1: IN_PROGRESS 50%", "req_1: COMPLETED"]
    assert clock.sleeps == [2.0, 2.0, 2.0]


def test_wait_stops_at_its_deadline_with_exit_code_124():
    clock = FakeClock()
    request = ScriptedRequest({"status": "IN_PROGRESS", "progress": 10})
    with pytest.raises(CommandError) as caught:
        wait_on(request, 5, clock.sleep, clock.time)
    assert caught.value.exit_code == commands.EXIT_TIMEOUT
    assert str(caught.value).startswith("Clipia request req_1 is still IN_PROGRESS 10% after 5 s (--timeout)")
    assert clock.sleeps == [2.0, 2.0, 1.0]  # the last poll lands on the deadline, not past it
    assert request.result_reads == 0


class _RaisesSigintWhenCollected:
    """An object whose finalizer receives a Ctrl-C: Python drops exceptions raised in finalizers."""

    def __del__(self) -> None:
        # delivered to this (the main) thread, whose handler runs before raise_signal returns (os.kill
        # may hand the signal to another thread, and the handler then runs after the finalizer)
        signal.raise_signal(signal.SIGINT)


def test_a_ctrl_c_dropped_in_a_finalizer_still_stops_the_wait(monkeypatch):
    dropped: list[type[BaseException]] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda unraisable: dropped.append(unraisable.exc_type))
    # Python's own handler (a test that ran Airflow in this process before may have left another)
    outer = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _RaisesSigintWhenCollected()  # the interrupt is lost without a trace
        assert dropped == [KeyboardInterrupt]

        with latched_interrupt() as interrupt:
            _RaisesSigintWhenCollected()
            assert dropped == [KeyboardInterrupt, KeyboardInterrupt]
            request = ScriptedRequest({"status": "IN_PROGRESS", "progress": 10})
            with pytest.raises(KeyboardInterrupt):  # ... the latch raises it again at the next pause
                wait_on(request, 60, interrupt.sleep)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, outer)


# -- one-line errors ------------------------------------------------------------------------------
def _run_failing(error: BaseException, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    @clipgen_command
    def failing(args: argparse.Namespace) -> None:
        raise error

    with pytest.raises(SystemExit) as caught:
        failing(argparse.Namespace(verbose=False))
    return cast(int, caught.value.code), capsys.readouterr().err


def test_api_errors_exit_1_with_the_apis_words_on_one_line(capsys):
    code, err = _run_failing(
        ClipiaApiError(
            "Unknown model 'nope';\nGET /v1/models lists them", status_code=404, code="model_not_found"
        ),
        capsys,
    )
    assert code == 1
    assert err.count("\n") == 1
    assert err.startswith("Clipia HTTP 404 model_not_found: Unknown model 'nope'; GET /v1/models lists them.")


def test_a_missing_connection_says_how_to_add_one(capsys):
    from airflow.providers.common.compat.sdk import AirflowNotFoundException

    code, err = _run_failing(AirflowNotFoundException("The conn_id `nope` isn't defined"), capsys)
    assert code == 1
    assert err.startswith("The conn_id `nope` isn't defined: create it")
    assert "--conn-id" in err


def test_ctrl_c_exits_130(capsys):
    assert _run_failing(KeyboardInterrupt(), capsys) == (130, "Interrupted.\n")


def test_command_errors_keep_their_exit_code(capsys):
    assert _run_failing(CommandError("late", 124), capsys) == (124, "late\n")


# -- the definitions ------------------------------------------------------------------------------
def _leaves(items: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    found = []
    for item in items:
        if hasattr(item, "subcommands"):
            found += _leaves(item.subcommands, (*path, item.name))
        else:
            found.append(((*path, item.name), item))
    return found


def test_every_command_has_conn_id_output_and_verbose_and_runs_a_command_function():
    leaves = _leaves(definition.get_clipgen_cli_commands())
    assert {" ".join(path) for path, _ in leaves} == {
        f"clipgen {name}"
        for name in (
            "models list",
            "models get",
            "estimate",
            "balance",
            "status",
            "result",
            "wait",
            "formats list",
            "formats get",
            "resources list",
            "resources get",
            "generations get",
            "generations cancel",
        )
    }
    for _, command in leaves:
        flags = {flag for arg in command.args for flag in arg.flags}
        assert {"--conn-id", "--output", "--verbose"} <= flags
        assert callable(getattr(commands, command.func.__name__))


def test_default_connections_are_the_hooks_defaults():
    assert ClipiaHook.default_conn_name == definition.CLIPIA_DEFAULT_CONN_ID
    assert ClipwiseHook.default_conn_name == definition.CLIPWISE_DEFAULT_CONN_ID


def test_the_standalone_parser_takes_the_same_commands():
    args = definition.get_parser().parse_args(["resources", "get", "avatars", "res_1", "-o", "json"])
    assert (args.resource_type, args.resource_id, args.output, args.conn_id) == (
        "avatars",
        "res_1",
        "json",
        "clipwise_default",
    )
    assert args.func.__name__ == "resources_get"


def test_importing_the_definitions_adds_only_themselves():
    """Airflow imports the definitions for every command: they must not pull in hooks, httpx, ...

    Airflow's own CLI modules are imported first (every ``airflow`` command has them anyway); then
    the definitions may add only their own two modules (no httpx, no hook). Loading the whole CLI
    parser (which calls the provider's ``cli`` function on Airflow 3.2+) still imports none of the
    provider's commands, hooks, operators, sensors or triggers.
    """
    probe = textwrap.dedent(
        """
        import json, sys
        import airflow.cli.cli_config
        before = set(sys.modules)
        import clipgen_provider.cli.definition as definition
        definition.get_clipgen_cli_commands()
        added = sorted(set(sys.modules) - before)
        import airflow.cli.cli_parser
        heavy = sorted(
            name for name in sys.modules
            if name.startswith(("clipgen_provider.hooks", "clipgen_provider.operators",
                                "clipgen_provider.cli.commands", "clipgen_provider.cli.output",
                                "clipgen_provider.triggers", "clipgen_provider.sensors"))
        )
        print(json.dumps({"added": added, "heavy": heavy}))
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert set(report["added"]) <= {
        "clipgen_provider",
        "clipgen_provider.cli",
        "clipgen_provider.cli.definition",
    }
    assert report["heavy"] == []
