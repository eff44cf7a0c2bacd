"""``python -m clipgen_provider.sandbox``: serve the sandbox with uvicorn until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import uvicorn

from clipgen_provider.sandbox.app import create_app
from clipgen_provider.sandbox.settings import SandboxSettings

# command-line option -> settings field; options left out keep the SandboxSettings defaults
_SETTING_OPTIONS = {
    "queue_seconds": float,
    "run_seconds": float,
    "initial_credits": float,
    "webhook_retry_seconds": float,
    "webhook_max_attempts": int,
    "concurrency_limit": int,
    "realism_seed": int,
}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="python -m clipgen_provider.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--webhook-secret",
        dest="webhook_secrets",
        action="append",
        help="webhook signing secret; repeat to accept several (the first one signs)",
    )
    for name, kind in _SETTING_OPTIONS.items():
        parser.add_argument("--" + name.replace("_", "-"), dest=name, type=kind)
    parser.add_argument(
        "--realism",
        action="store_const",
        const=True,
        help="uneven, seeded job timelines: queue moves, stalls, jumps, surprises (see docs/sandbox.md)",
    )
    parser.add_argument(
        "--log-level", default="warning", choices=("critical", "error", "warning", "info", "debug")
    )
    parser.add_argument(
        "--access-log", action="store_true", help="log every request (off: it costs throughput)"
    )
    return parser.parse_args(argv)


def settings_from_args(args: argparse.Namespace) -> SandboxSettings:
    """Build the start-up settings from the options that were given."""
    settings = SandboxSettings()
    given = {name: getattr(args, name) for name in (*_SETTING_OPTIONS, "webhook_secrets", "realism")}
    settings.update({name: value for name, value in given.items() if value is not None})
    return settings


def main(argv: Sequence[str] | None = None) -> None:
    """Run the server; uvicorn picks uvloop and httptools when they are installed."""
    args = parse_args(argv)
    app = create_app(settings_from_args(args))
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=args.access_log,
        timeout_graceful_shutdown=3,
    )
    server = uvicorn.Server(config)
    app.state.faults.connections = server.server_state.connections
    server.run()


if __name__ == "__main__":
    main()
