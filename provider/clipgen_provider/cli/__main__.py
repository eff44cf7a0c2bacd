"""``python -m clipgen_provider.cli …``: the ``airflow clipgen`` commands without the ``airflow`` CLI.

For Airflow 3.1, whose CLI loads no commands from providers; it works on every supported version.
"""

from __future__ import annotations

from clipgen_provider.cli.definition import get_parser


def main() -> None:
    """Parse the command line and run the command it names."""
    args = get_parser().parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
