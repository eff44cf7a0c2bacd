"""``python -m tests.airflow_cli …``: Airflow's own ``airflow`` command, with the in-process execution
API built once per process.

``airflow dags test`` runs each task against an execution API inside its own process. Airflow 3.3
builds that API once per process; 3.1 and 3.2 build it again for every task, about 5 s of CPU each
(most of it Cadwyn generating the API's versioned routes), which doubles the CPU the scenario tests
take on those versions. The tests run ``airflow`` through here on those versions
(:data:`tests.airflow_compat.AIRFLOW_COMMAND`) and call :func:`share_in_process_execution_api` in
their own processes (``dag.test()``); what the tasks do and the API answers is unchanged.
"""

from __future__ import annotations

import functools
import sys

from airflow.sdk.execution_time import supervisor

#: whether this Airflow itself builds the in-process execution API once per process (3.3+); read
#: when this module is first imported, before :func:`share_in_process_execution_api` can change it
AIRFLOW_BUILDS_EXECUTION_API_ONCE = hasattr(supervisor.in_process_api_server, "cache_info")


def share_in_process_execution_api() -> None:
    """Build the in-process execution API once per process, as Airflow 3.3 does (once per task
    before)."""
    if not hasattr(supervisor.in_process_api_server, "cache_info"):
        supervisor.in_process_api_server = functools.lru_cache(maxsize=1)(supervisor.in_process_api_server)


if __name__ == "__main__":
    from airflow.__main__ import main

    share_in_process_execution_api()
    sys.exit(main())  # as the ``airflow`` console script does: main's return value is the exit code
