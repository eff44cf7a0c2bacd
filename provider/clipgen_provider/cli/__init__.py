"""The ``airflow clipgen …`` commands: look at the APIs' catalogs, accounts and jobs from a shell.

:mod:`~clipgen_provider.cli.definition` declares them (imported by every ``airflow`` command, so it
stays light); :mod:`~clipgen_provider.cli.commands` runs them (imported only when one runs).
"""
