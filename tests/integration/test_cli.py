"""The real ``airflow clipgen …`` commands against the sandbox: every command, every output format
parsed, exit codes, one-line errors, and never a key in what they print.

Most commands run in this process, as Apache Airflow's own CLI tests run theirs: the ``airflow``
parser, built once, parses the command line and ``args.func(args)`` runs the command, with stdout
and stderr captured (``capsys``) and ``SystemExit`` read as the exit code. That is the parser and
the code a user's ``airflow clipgen …`` runs, minus the ``airflow`` start-up (about 2 s of CPU per
process). Airflow 3.1 loads no CLI commands from providers: there the commands run on the parser of
``python -m clipgen_provider.cli`` (:func:`clipgen_provider.cli.definition.get_parser`).

Four runs stay real processes, for what only a process shows: Ctrl-C (SIGINT to the process, exit
130), ``--verbose`` (it re-levels and re-points the root logger's handlers for good, which in this
process would leak into later tests, and pytest's log capture would change where its lines go), the
``airflow`` entry point listing the ``clipgen`` commands, and ``python -m clipgen_provider.cli``.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
import yaml
from airflow.providers_manager import ProvidersManager

from clipgen_provider.hooks.clipia import ClipiaHook
from clipgen_provider.hooks.clipwise import ClipwiseHook
from clipgen_provider.sandbox.server import SandboxServer

AIRFLOW = os.path.join(os.path.dirname(sys.executable), "airflow")
STANDALONE = [sys.executable, "-m", "clipgen_provider.cli"]
#: Airflow 3.2 and later add the provider's ``cli`` commands to ``airflow``; 3.1 does not
PROVIDER_CLI = hasattr(ProvidersManager, "cli_command_functions")
CLIPGEN = [AIRFLOW, "clipgen"] if PROVIDER_CLI else STANDALONE
#: what comes before a command's own arguments on :func:`parser`'s command line
PREFIX = ("clipgen",) if PROVIDER_CLI else ()

Run = Callable[..., subprocess.CompletedProcess[str]]


@functools.cache
def parser() -> argparse.ArgumentParser:
    """The parser ``airflow`` builds (3.2+), or that of ``python -m clipgen_provider.cli`` (3.1)."""
    if PROVIDER_CLI:
        from airflow.cli import cli_parser

        return cli_parser.get_parser()
    from clipgen_provider.cli import definition

    return definition.get_parser()


def exit_code(stop: SystemExit) -> int:
    """The exit code a process would have after ``stop``: as Python's own exit does."""
    if stop.code is None:
        return 0
    if isinstance(stop.code, int):
        return stop.code
    print(stop.code, file=sys.stderr)
    return 1


def logging_state() -> tuple[Any, ...]:
    """What a command must leave as it found it: logging's global switch, the root logger's level
    and its handlers with their levels and streams."""
    root = logging.getLogger()
    handlers = tuple((h, h.level, getattr(h, "stream", None)) for h in root.handlers)
    return root.manager.disable, root.level, handlers


def run_in_process(
    argv: Sequence[str], capsys: pytest.CaptureFixture[str]
) -> subprocess.CompletedProcess[str]:
    """Parse and run one command here; what it printed, and its exit code.

    Only ``SystemExit`` ends a command as a process's exit would; any other exception is raised on
    to fail the test (a process would have printed it as a traceback). The command must restore the
    SIGINT handler (``wait`` latches Ctrl-C) and logging (``suppress_logs_and_warning``).
    """
    capsys.readouterr()  # what the test printed before is not the command's
    sigint = signal.getsignal(signal.SIGINT)
    logging_before = logging_state()
    try:
        args = parser().parse_args([*PREFIX, *argv])
        args.func(args)
    except SystemExit as stop:
        returncode = exit_code(stop)
    else:
        returncode = 0
    printed = capsys.readouterr()
    assert signal.getsignal(signal.SIGINT) is sigint, "the command left its SIGINT handler"
    assert logging_state() == logging_before, "the command changed logging"
    return subprocess.CompletedProcess([*PREFIX, *argv], returncode, printed.out, printed.err)


@pytest.fixture
def clipgen(
    clipia_conn: str, clipwise_conn: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Run:
    """Run a ``clipgen`` command with this test's connections; check its exit code, and that
    nothing it printed holds a key (this test's, or ``secrets``) or a traceback.

    It runs in this process (:func:`run_in_process`), or, given ``command`` (the process's command
    line before ``args``), as its own process; ``env`` holds environment variables for this run.
    """

    def run(
        *args: str,
        code: int = 0,
        command: Sequence[str] | None = None,
        secrets: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        with monkeypatch.context() as patch:
            for name, value in (env or {}).items():
                patch.setenv(name, value)
            if command is None:
                done = run_in_process(args, capsys)
            else:
                done = subprocess.run(
                    [*command, *args], capture_output=True, text=True, timeout=120, check=False
                )
        printed = done.stdout + done.stderr
        assert done.returncode == code, printed
        assert "Traceback" not in printed, printed
        for secret in (clipia_conn, clipwise_conn, *secrets):
            assert secret not in printed
        return done

    return run


def error_line(done: subprocess.CompletedProcess[str], *, alone: bool = True) -> str:
    """The error a failed command printed: its last stderr line (its only one when ``alone``;
    Airflow 3.1 adds log lines of its own start-up)."""
    lines = done.stderr.strip().splitlines()
    if alone and PROVIDER_CLI:
        assert len(lines) == 1, done.stderr
    return lines[-1]


def parsed_json(done: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(done.stdout)


def table_rows(done: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """``property_name | property_value`` rows of ``-o table`` as a dict."""
    cells = [line.split("|", 1) for line in done.stdout.splitlines() if "|" in line]
    return {name.strip(): value.strip() for name, value in cells}


def plain_rows(done: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """``property_name  property_value`` lines of ``-o plain`` as a dict."""
    header, *lines = done.stdout.strip().splitlines()
    assert header.split() == ["property_name", "property_value"]
    return dict([*line.split(None, 1), ""][:2] for line in lines)


@contextmanager
def slow_jobs(sandbox: SandboxServer, queue_seconds: float, run_seconds: float) -> Iterator[None]:
    """Jobs submitted inside the block take this long (the sandbox copies its timing at submit)."""
    before = sandbox.settings()
    sandbox.update_settings(queue_seconds=queue_seconds, run_seconds=run_seconds)
    try:
        yield
    finally:
        sandbox.update_settings(queue_seconds=before["queue_seconds"], run_seconds=before["run_seconds"])


def submit(prompt: str) -> str:
    """Submit a ``nano-banana-2`` request with ``clipia_default``; return its id."""
    hook = ClipiaHook()
    with hook:
        return hook.submit("nano-banana-2", {"prompt": prompt})["request_id"]


# -- Clipia ---------------------------------------------------------------------------------------
def test_models_list_and_get(clipgen):
    models = {model["slug"]: model for model in parsed_json(clipgen("models", "list", "-o", "json"))}
    assert models["nano-banana-2"] == {
        "slug": "nano-banana-2",
        "type": "image",
        "name": "Nano Banana 2",
        "credits": 4,
        "billing_unit": "image",
        "estimate_required": False,
        "available": True,
    }
    assert models["seedance-2-fast-t2v"]["credits"] is None
    assert models["seedance-2-fast-t2v"]["estimate_required"] is True

    (card,) = yaml.safe_load(clipgen("models", "get", "nano-banana-2", "-o", "yaml").stdout)
    assert card["pricing"]["credits"] == 4
    assert "prompt" in [parameter["name"] for parameter in card["input_schema"]["parameters"]]

    rows = table_rows(clipgen("models", "get", "gemini-3-1-flash-tts"))
    assert rows["property_name"] == "property_value"
    assert rows["pricing.billing_unit"] == "characters"
    assert int(rows["text_limits.max_chars"]) > int(rows["text_limits.min_chars"])


def test_estimate_prices_without_submitting(clipgen, sandbox, clipia_key, tmp_path):
    (answer,) = parsed_json(
        clipgen("estimate", "nano-banana-2", "--input", '{"prompt": "a red fox", "bogus": 1}', "-o", "json")
    )
    assert answer["model"] == "nano-banana-2"
    assert answer["credits"] == 4
    assert [warning["parameter"] for warning in answer["warnings"]] == ["bogus"]

    request = tmp_path / "input.json"
    request.write_text(json.dumps({"prompt": "a red fox", "num_images": 3}))
    rows = plain_rows(clipgen("estimate", "nano-banana-2", "--input", f"@{request}", "-o", "plain"))
    assert rows["credits"].strip() == "12"

    sent = sandbox.calls(api_key=clipia_key)
    assert [call["path"] for call in sent] == ["/v1/models/nano-banana-2/estimate"] * 2
    assert all(call["method"] == "POST" for call in sent)


def test_bad_input_and_api_errors_are_one_line(clipgen, sandbox, clipia_key):
    bad_json = clipgen("estimate", "nano-banana-2", "--input", '{"prompt": ', code=1)
    assert error_line(bad_json).startswith("--input is not valid JSON (Expecting value at line 1 column 12)")
    assert bad_json.stdout == ""
    not_an_object = clipgen("estimate", "nano-banana-2", "--input", '["a red fox"]', code=1)
    assert error_line(not_an_object).startswith("--input must be a JSON object of model parameters")
    assert sandbox.calls(api_key=clipia_key) == []  # refused before anything was sent

    unknown = clipgen("estimate", "nope", "--input", '{"prompt": "a red fox"}', code=1)
    assert error_line(unknown).startswith(
        "Clipia HTTP 404 model_not_found: Unknown model 'nope'; GET /v1/models lists them."
    )
    assert unknown.stdout == ""


def test_balance_as_a_table(clipgen):
    rows = table_rows(clipgen("balance"))
    assert rows["balance.credits"] == "10000"
    assert rows["usage_30d.requests"] == "0"
    assert rows["account_id"].startswith("acct_")


def test_status_result_and_wait(clipgen, clipia_conn):
    request_id = submit("a red fox")

    (status,) = parsed_json(clipgen("status", request_id, "-o", "json"))
    assert status["request_id"] == request_id
    assert status["status"] in {"IN_QUEUE", "IN_PROGRESS", "COMPLETED"}
    assert status["logs"][0]["message"] == "Request queued"

    waited = clipgen("wait", request_id, "--poll-interval", "0.2", "-o", "json")
    (finished,) = json.loads(waited.stdout)
    assert finished["status"] == "COMPLETED"
    assert finished["cost"] == 4
    assert finished["output"]["images"][0]["url"].endswith(".png")
    assert waited.stderr.strip().splitlines()[-1] == f"{request_id}: COMPLETED"

    (result,) = yaml.safe_load(clipgen("result", request_id, "-o", "yaml").stdout)
    assert result == finished


def test_wait_for_a_failed_request_prints_it_and_exits_1(clipgen, clipia_conn):
    request_id = submit("a red fox [sandbox:fail]")
    waited = clipgen("wait", request_id, "--poll-interval", "0.2", "-o", "json", code=1)
    (finished,) = json.loads(waited.stdout)
    assert finished["status"] == "FAILED"
    assert finished["cost"] == 0
    assert error_line(waited, alone=False).startswith(f"Clipia request {request_id} ended FAILED: ")


def test_wait_timeout_and_ctrl_c_leave_the_request_running(clipgen, sandbox, clipia_conn):
    """``--timeout`` runs in this process; Ctrl-C is a real SIGINT to a real ``wait`` process (its
    handler, the exit code 130 and the last words are the process's own)."""
    with slow_jobs(sandbox, queue_seconds=0.0, run_seconds=120.0):
        request_id = submit("a red fox")

    timed_out = clipgen("wait", request_id, "--timeout", "0.5", "--poll-interval", "0.2", code=124)
    assert timed_out.stdout == ""
    assert error_line(timed_out, alone=False).startswith(f"Clipia request {request_id} is still IN_PROGRESS")
    assert "after 0.5 s (--timeout); it keeps running" in timed_out.stderr

    waiting = subprocess.Popen(
        [*CLIPGEN, "wait", request_id, "--timeout", "100", "--poll-interval", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert waiting.stderr is not None
        for line in waiting.stderr:  # the first status line: the command is in its wait loop
            if line.startswith(f"{request_id}: IN_PROGRESS"):
                break
        waiting.send_signal(signal.SIGINT)
        out, err = waiting.communicate(timeout=30)
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.wait()
    assert waiting.returncode == 130, err
    assert "Traceback" not in err
    assert out == ""
    assert err.strip().splitlines()[-1] == (
        f"Stopped waiting; Clipia request {request_id} keeps running: run wait {request_id} again to keep waiting."
    )
    hook = ClipiaHook()
    with hook:
        assert hook.get_status(request_id)["status"] == "IN_PROGRESS"


def test_connection_errors_never_show_the_key(clipgen, sandbox):
    """``--verbose`` runs as a process: it re-levels the root logger's handlers and points them at
    stderr for good, which in this process would leak into later tests (and pytest's log capture
    would change where its lines go)."""
    wrong_key = f"wrong_{uuid.uuid4().hex}"
    bad = json.dumps({"conn_type": "clipia", "host": sandbox.url, "password": wrong_key})
    rejected = clipgen(
        "balance", "--conn-id", "clipia_wrong", "--verbose", "-o", "json",
        code=1, secrets=(wrong_key,), env={"AIRFLOW_CONN_CLIPIA_WRONG": bad}, command=CLIPGEN,
    )  # fmt: skip
    assert "HTTP Request: GET" in rejected.stderr  # --verbose logged the call (method and URL only)
    assert error_line(rejected, alone=False).startswith("Clipia HTTP 401 invalid_api_key: ")
    assert rejected.stdout == ""

    missing = clipgen("formats", "list", "--conn-id", "clipwise_missing", code=1)
    assert error_line(missing).startswith("The conn_id `clipwise_missing` isn't defined: create it")


# -- Clipwise -------------------------------------------------------------------------------------
def test_formats_and_resources(clipgen):
    tools = parsed_json(clipgen("formats", "list", "--kind", "tool", "-o", "json"))
    assert {tool["kind"] for tool in tools} == {"tool"}
    assert {"slug": "text_to_audio", "kind": "tool", "platform": "video_company",
            "display_name": "Text to Audio", "required_inputs": ["script", "voice"]} in tools  # fmt: skip

    (smart,) = yaml.safe_load(clipgen("formats", "get", "prompt_to_video", "-o", "yaml").stdout)
    assert smart["slug"] == "smart"
    assert smart["required_inputs"] == ["prompt"]

    avatars = parsed_json(clipgen("resources", "list", "avatars", "--video-format", "smart", "-o", "json"))
    assert "res_avatar_ava" in [avatar["id"] for avatar in avatars]
    assert set(avatars[0]) == {"id", "display_name", "source_kind", "file_type"}

    rows = plain_rows(clipgen("resources", "get", "avatars", "res_avatar_ava", "-o", "plain"))
    assert rows["display_name"] == "Ava (studio presenter)"


def test_generations_get_and_cancel(clipgen, sandbox, clipwise_conn):
    hook = ClipwiseHook()
    with hook:
        with slow_jobs(sandbox, queue_seconds=120.0, run_seconds=1.0):  # cancellable while queued
            queued = hook.create_generation("smart", prompt="a launch video")["id"]
        finished = hook.create_generation("smart", prompt="another launch video")["id"]

    (seen,) = parsed_json(clipgen("generations", "get", queued, "-o", "json"))
    assert (seen["id"], seen["format"], seen["status"]) == (queued, "smart", "queued")
    (cancelled,) = parsed_json(clipgen("generations", "cancel", queued, "-o", "json"))
    assert (cancelled["id"], cancelled["status"]) == (queued, "cancelled")

    with hook:
        deadline = time.monotonic() + 30
        while hook.get_generation(finished)["status"] != "completed":
            assert time.monotonic() < deadline, "the sandbox generation never completed"
            time.sleep(0.2)
    refused = clipgen("generations", "cancel", finished, code=1)
    assert error_line(refused).startswith("Clipwise HTTP 409 unsupported_cancellation: ")


# -- how the commands are reached -----------------------------------------------------------------
def test_airflow_has_the_clipgen_commands_from_3_2_on(clipgen):
    """A process: the ``airflow`` entry point itself lists the commands (or, on 3.1, refuses them)."""
    shown = clipgen("clipgen", "--help", command=[AIRFLOW], code=0 if PROVIDER_CLI else 2)
    if not PROVIDER_CLI:  # Airflow 3.1: the documented fallback is python -m clipgen_provider.cli
        assert "invalid choice: 'clipgen'" in shown.stdout + shown.stderr
        return
    for name in (
        "balance",
        "estimate",
        "formats",
        "generations",
        "models",
        "resources",
        "result",
        "status",
        "wait",
    ):
        assert name in shown.stdout


def test_the_standalone_module_runs_the_same_commands(clipgen):
    """A process: ``python -m clipgen_provider.cli``, the documented way on Airflow 3.1."""
    (account,) = parsed_json(clipgen("balance", "-o", "json", command=STANDALONE))
    assert account["balance"] == {"credits": 10000}
