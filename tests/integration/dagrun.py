"""Run a DAG the way ``airflow dags test`` does (triggers in-process) and read back what it did."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class RunOutcome:
    """A finished DAG run: its state, each task's state and try number, and its XComs (those of
    a mapped task also by map index, in ``mapped_xcoms``)."""

    state: str
    task_states: dict[str, str]
    tries: dict[str, int]
    xcoms: dict[tuple[str, str], Any]
    mapped_xcoms: dict[tuple[str, str, int], Any]

    def value(self, task_id: str, key: str = "return_value") -> Any:
        """One task's XCom value."""
        return self.xcoms.get((task_id, key))


def load_dag(dag_id: str) -> Any:
    """The DAG ``dag_id`` from the configured bundles (examples and test scenarios)."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager

    from tests.airflow_compat import DagBag

    for bundle in DagBundlesManager().get_all_dag_bundles():
        bundle.initialize()
        dag = DagBag(str(bundle.path)).get_dag(dag_id)
        if dag is not None:
            return dag
    raise LookupError(f"no DAG {dag_id!r} in any configured bundle")


def run_dag(dag_id: str, **run_conf: Any) -> RunOutcome:
    """Run ``dag_id`` once with ``dag.test()`` and collect the outcome from the metadata database."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    dag_run = load_dag(dag_id).test(run_conf=run_conf or None)
    with create_session() as session:
        rows = session.query(XComModel).filter(XComModel.run_id == dag_run.run_id, XComModel.dag_id == dag_id)
        xcoms = {(row.task_id, row.key): row.value for row in rows}
        mapped = {(row.task_id, row.key, row.map_index): row.value for row in rows if row.map_index >= 0}
        tis = dag_run.get_task_instances(session=session)
        return RunOutcome(
            state=str(dag_run.state),
            task_states={ti.task_id: str(ti.state) for ti in tis},
            tries={ti.task_id: ti.try_number for ti in tis},
            xcoms=xcoms,
            mapped_xcoms=mapped,
        )
