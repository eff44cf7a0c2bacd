"""What a DAG run's generations cost: one line per task instance, with its real map index.

The operator reads each task instance's state and XComs through the Task SDK (no ORM in a task on
Airflow 3), turns what it read into :class:`RunCostLine` s with the pure functions below, and sums
them. It never fails on what it reads: a value it cannot interpret, or a Clipia answer it cannot
get, becomes a line whose ``credits`` is ``None`` and whose ``note`` says why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from airflow.providers.common.compat.sdk import AirflowFailException
from airflow.sdk import BaseOperator, Context

from clipgen_provider.results import RunCostLine, RunCostReport

if TYPE_CHECKING:
    from clipgen_provider.hooks.clipia import ClipiaHook

ApiName = Literal["clipia", "clipwise"]

#: the XCom keys under which the generate operators push their job id before waiting
#: (``ClipgenJobOperator.job_id_xcom_key``), and the API each one belongs to
JOB_ID_KEYS: dict[str, ApiName] = {"request_id": "clipia", "generation_id": "clipwise"}
#: task instance states in which a task never ran its ``execute``: nothing can have been charged
NOT_RUN_STATES = frozenset({"skipped", "upstream_failed", "removed"})
_CLIPIA_UNCHARGED = frozenset({"FAILED", "CANCELED"})
_CLIPIA_FINISHED = frozenset({"COMPLETED", *_CLIPIA_UNCHARGED})
_DEFAULT_CLIPIA_CONN_ID = "clipia_default"


# -- pure: from what was read to lines ----------------------------------------------------------
def label(task_id: str, map_index: int) -> str:
    """``task`` for an unmapped task instance, ``task[3]`` for map index 3."""
    return task_id if map_index < 0 else f"{task_id}[{map_index}]"


def instance_states(task_id: str, states: Mapping[str, Any]) -> dict[int, str | None]:
    """Map index → state of ``task_id``'s instances, from ``get_task_states`` for that one task.

    Airflow keys an unmapped instance by its task id and a mapped one by ``{task_id}_{map_index}``;
    asking for one task at a time keeps that unambiguous even when task ids end in ``_<digits>``.
    """
    found: dict[int, str | None] = {}
    for key, state in states.items():
        suffix = key[len(task_id) + 1 :] if key.startswith(f"{task_id}_") else ""
        if key == task_id:
            found[-1] = _state_name(state)
        elif suffix.isdigit():
            found[int(suffix)] = _state_name(state)
    return found


def _state_name(state: Any) -> str | None:
    """A state as its plain string (the SDK may hand over an enum member)."""
    return None if state is None else str(getattr(state, "value", state))


def _credits(value: Any) -> float | None:
    """``value`` as a number of credits, or None when it is not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _line(
    task_id: str,
    map_index: int,
    state: str | None,
    note: str,
    *,
    credits: float | None = None,
    api: ApiName | None = None,
    job_id: Any = None,
    job_status: Any = None,
) -> RunCostLine:
    return RunCostLine(
        task_id=task_id,
        map_index=map_index,
        state=state,
        api=api,
        job_id=None if job_id is None else str(job_id),
        job_status=None if job_status is None else str(job_status),
        credits=credits,
        note=note,
    )


def clipia_line(task_id: str, map_index: int, state: str | None, result: Mapping[str, Any]) -> RunCostLine:
    """A line from a Clipia result: a generate task's return value, or the API's answer about
    the request of a task that did not succeed.

    Clipia's ``cost`` is the reserve while the request runs and the charge once it is finished
    (0 for FAILED and CANCELED). A running request's reserve is counted: Clipia cannot cancel it,
    so it is charged when it completes.
    """
    request_id, status = result.get("request_id"), result.get("status")
    cost = _credits(result.get("cost"))
    name = f"Clipia request {request_id}"
    if cost is None:
        note = f"{name}: unexpected cost {result.get('cost')!r}; cost unknown"
    elif status in _CLIPIA_UNCHARGED:
        note = f"{name} ended {status}: not charged"
    elif status not in (None, "COMPLETED"):
        note = f"{name} is {status}: {cost:g} credits reserved, charged when it completes"
    elif state == "success":
        note = f"{name} COMPLETED"
    else:
        note = f"{name} COMPLETED and was charged; the task failed after it (e.g. storing the media)"
    return _line(
        task_id, map_index, state, note, credits=cost, api="clipia", job_id=request_id, job_status=status
    )


def clipwise_line(task_id: str, map_index: int, state: str | None, generation_id: Any) -> RunCostLine:
    """A Clipwise generation's line: the API reports no price, so it is not counted."""
    return _line(
        task_id,
        map_index,
        state,
        f"Clipwise reports no price (generation {generation_id}); not counted in the total",
        api="clipwise",
        job_id=generation_id,
    )


def result_line(task_id: str, map_index: int, state: str | None, result: Any) -> RunCostLine | None:
    """The line a task's return value gives, or None when it is not a generate result."""
    if not isinstance(result, Mapping):
        return None
    if result.get("generation_id") is not None:
        return clipwise_line(task_id, map_index, state, result["generation_id"])
    if result.get("request_id") is not None or "cost" in result:
        return clipia_line(task_id, map_index, state, result)
    return None


def request_line(
    task_id: str, map_index: int, state: str | None, request_id: str, answer: Mapping[str, Any] | str
) -> RunCostLine:
    """The line of a task that did not succeed but submitted ``request_id``; ``answer`` is Clipia's
    result for it, or why it could not be read."""
    if isinstance(answer, str):
        note = f"cost unknown: could not read Clipia request {request_id} ({answer})"
        return _line(task_id, map_index, state, note, api="clipia", job_id=request_id)
    return clipia_line(
        task_id, map_index, state, {**answer, "request_id": answer.get("request_id") or request_id}
    )


def state_line(task_id: str, map_index: int, state: str | None, result: Any = None) -> RunCostLine:
    """The line of a task instance that left neither a generate result nor a job id."""
    if state == "success":
        shape = "nothing" if result is None else f"a {type(result).__name__}"
        note = f"not a generate result (its XCom holds {shape}); cost unknown"
        return _line(task_id, map_index, state, note)
    if state == "failed":
        return _line(task_id, map_index, state, "no job id in XCom: nothing submitted", credits=0.0)
    if state in NOT_RUN_STATES:
        return _line(task_id, map_index, state, f"{state}: never ran", credits=0.0)
    return _line(task_id, map_index, state, f"not finished (state {state}); cost unknown")


def summarize(lines: Sequence[RunCostLine]) -> RunCostReport:
    """Total ``lines``, counting a Clipia request that several lines name once.

    The line kept for a shared request is the first that read it finished (a sensor's final cost
    rather than a submit-only task's reserve); the others get 0 credits and a note pointing to it.
    """
    keeper: dict[str, RunCostLine] = {}
    for line in lines:
        if line["api"] == "clipia" and line["job_id"] and line["credits"] is not None:
            known = keeper.get(line["job_id"])
            if known is None or (
                known["job_status"] not in _CLIPIA_FINISHED and line["job_status"] in _CLIPIA_FINISHED
            ):
                keeper[line["job_id"]] = line
    counted: list[RunCostLine] = []
    for line in lines:
        kept = keeper.get(line["job_id"] or "") if line["api"] == "clipia" else None
        if kept is not None and kept is not line and line["credits"] is not None:
            where = label(kept["task_id"], kept["map_index"])
            line = {
                **line,
                "credits": 0.0,
                "note": f"{line['note']}; the same request as {where}, counted there",
            }
        counted.append(line)
    by_task = {label(x["task_id"], x["map_index"]): x["credits"] for x in counted if x["credits"] is not None}
    return RunCostReport(
        total_credits=sum(by_task.values(), 0.0),
        lines=counted,
        by_task=by_task,
        uncounted=[label(x["task_id"], x["map_index"]) for x in counted if x["credits"] is None],
    )


def describe(line: RunCostLine) -> str:
    """One log line: ``shots[1]: failed, 0 credits (Clipia request r1 ended FAILED: not charged)``."""
    credits = "cost unknown" if line["credits"] is None else f"{line['credits']:g} credits"
    return f"{label(line['task_id'], line['map_index'])}: {line['state']}, {credits} ({line['note']})"


# -- the operator: reading through the Task SDK -------------------------------------------------
class ClipgenRunCostOperator(BaseOperator):
    """Report the credits charged by the generate tasks of this DAG run, in the log and in XCom.

    Put it at the end of a pipeline with ``trigger_rule="all_done"``: it writes one line per task
    instance of ``task_ids`` (default: every upstream task), mapped ones with their real map index,
    whatever their state:

    - a finished Clipia generate: its result's ``cost``;
    - a Clipia task that failed after submitting (its ``request_id`` XCom): what Clipia says the
      request cost: 0 if it FAILED, its charge if it COMPLETED (e.g. the media could not be stored);
    - a task that failed before submitting (over ``max_credits``, bad input), was skipped or
      upstream-failed: 0;
    - a Clipwise generation: the API reports no price; the line says so and is not counted.

    A value it cannot interpret or a Clipia answer it cannot get is reported in its line as cost
    unknown; the task itself does not fail on it. Returns a :class:`RunCostReport`.

    :param task_ids: the tasks to total (templated); default: this task's upstream tasks
    :param clipia_conn_id: the ``clipia`` connection to read failed tasks' requests with (templated);
        default: each task's own ``clipia_conn_id`` as the DAG declares it (a templated one is
        rendered in this task's context), else ``clipia_default``
    """

    template_fields: Sequence[str] = ("task_ids", "clipia_conn_id")

    def __init__(
        self, *, task_ids: list[str] | None = None, clipia_conn_id: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.task_ids = task_ids
        self.clipia_conn_id = clipia_conn_id
        self._hooks: dict[str, ClipiaHook] = {}

    def execute(self, context: Context) -> RunCostReport:
        """Read every task instance, log one line for each and the total, return the report."""
        lines = [
            line for task_id in self._checked_task_ids(context) for line in self._task_lines(context, task_id)
        ]
        report = summarize(lines)
        for line in report["lines"]:
            self.log.info("%s", describe(line))
        self.log.info("This run's generations cost %g credits in all.", report["total_credits"])
        if report["uncounted"]:
            self.log.warning(
                "Not in the total (no price or cost unknown): %s.", ", ".join(report["uncounted"])
            )
        return report

    def _checked_task_ids(self, context: Context) -> list[str]:
        """The task ids to read, refusing (before reading anything) ids the DAG does not have."""
        task_ids = [self.task_ids] if isinstance(self.task_ids, str) else list(self.task_ids or [])
        task_ids = sorted(dict.fromkeys(task_ids or self.upstream_task_ids))
        dag = context.get("dag")
        unknown = [t for t in task_ids if dag is not None and not dag.has_task(t)]
        if self.task_id in task_ids or unknown:
            raise AirflowFailException(
                f"task_ids of {self.task_id!r} must name other tasks of this DAG; "
                f"{sorted({*unknown, self.task_id} & set(task_ids))} are not such tasks. "
                "Pass the generate tasks' ids, or leave task_ids unset to total the upstream tasks."
            )
        return task_ids

    def _task_lines(self, context: Context, task_id: str) -> list[RunCostLine]:
        """One line per instance of ``task_id`` in this run."""
        ti = context["ti"]
        try:
            by_run = ti.get_task_states(dag_id=ti.dag_id, task_ids=[task_id], run_ids=[ti.run_id])
            states = instance_states(task_id, by_run.get(ti.run_id) or {})
        except Exception as err:  # reported in the line: the report must not fail on a read
            self.log.warning("Could not read the task instances of %s.", task_id, exc_info=True)
            return [_line(task_id, -1, None, f"cost unknown: could not read its task instances ({err})")]
        if not states:
            return [_line(task_id, -1, None, "no task instance in this run yet; cost unknown")]
        return [
            self._instance_line(context, task_id, index, state) for index, state in sorted(states.items())
        ]

    def _instance_line(
        self, context: Context, task_id: str, map_index: int, state: str | None
    ) -> RunCostLine:
        """Read one task instance's result or job id, and the API when that is needed."""
        if state in NOT_RUN_STATES:
            return state_line(task_id, map_index, state)
        try:
            result = self._pull(context, task_id, map_index, "return_value") if state == "success" else None
            line = result_line(task_id, map_index, state, result)
            if line is not None:
                return line
            for key in self._job_id_keys(context, task_id):
                job_id = self._pull(context, task_id, map_index, key)
                if job_id is None:
                    continue
                if JOB_ID_KEYS[key] == "clipwise":
                    return clipwise_line(task_id, map_index, state, job_id)
                answer = self._read_request(context, task_id, str(job_id))
                return request_line(task_id, map_index, state, str(job_id), answer)
            return state_line(task_id, map_index, state, result)
        except Exception as err:  # reported in the line: the report must not fail on a read
            self.log.warning("Could not read %s.", label(task_id, map_index), exc_info=True)
            return _line(task_id, map_index, state, f"cost unknown: could not read its XCom ({err})")

    @staticmethod
    def _pull(context: Context, task_id: str, map_index: int, key: str) -> Any:
        return context["ti"].xcom_pull(task_ids=task_id, map_indexes=map_index, key=key)

    def _read_request(self, context: Context, task_id: str, request_id: str) -> Mapping[str, Any] | str:
        """Clipia's result for ``request_id`` (read with the task's connection), or why it failed."""
        from clipgen_provider.hooks.clipia import ClipiaHook

        try:
            conn_id = self._clipia_conn_id_of(context, task_id)
            if conn_id not in self._hooks:
                self._hooks[conn_id] = ClipiaHook(conn_id)
            return self._hooks[conn_id].get_result(request_id)
        except Exception as err:  # reported in the line: an API error must not fail the report
            return str(err) or type(err).__name__

    @staticmethod
    def _dag_task(context: Context, task_id: str) -> Any:
        """``task_id`` as the DAG declares it (an operator or a mapped operator), or None."""
        dag = context.get("dag")
        return dag.get_task(task_id) if dag is not None and dag.has_task(task_id) else None

    def _job_id_keys(self, context: Context, task_id: str) -> list[str]:
        """The XCom keys that may hold ``task_id``'s job id: its operator's, or none for another
        kind of task (so no reads of keys that cannot exist); both when the DAG is not at hand."""
        task = self._dag_task(context, task_id)
        if task is None:
            return list(JOB_ID_KEYS)
        operator_class = getattr(task, "operator_class", type(task))  # a mapped task names its class
        key = getattr(operator_class, "job_id_xcom_key", None)
        return [key] if key in JOB_ID_KEYS else []

    def _clipia_conn_id_of(self, context: Context, task_id: str) -> str:
        """The connection ``task_id`` used: ``clipia_conn_id`` if set here, else the task's own."""
        if self.clipia_conn_id:
            return self.clipia_conn_id
        task = self._dag_task(context, task_id)
        partial = getattr(task, "partial_kwargs", None)  # a mapped task keeps its arguments there
        value = (
            partial.get("clipia_conn_id")
            if isinstance(partial, dict)
            else getattr(task, "clipia_conn_id", None)
        )
        if not isinstance(value, str) or not value:
            return _DEFAULT_CLIPIA_CONN_ID
        return str(self.render_template(value, context)) if "{{" in value else value
