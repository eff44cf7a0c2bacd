"""A review gate: a person approves, picks, rejects or asks again for generated media, in Airflow.

:class:`ClipgenReviewOperator` is Airflow's own human-in-the-loop branch operator
(``HITLBranchOperator`` of the standard provider) with the media of upstream generate tasks on its
required-actions page. While it waits for an answer no worker slot is held: on Airflow 3.3 the task
parks in ``awaiting_input`` (no trigger either); on 3.1 and 3.2 it defers to the standard
provider's ``HITLTrigger``. What it shows and how an answer maps to approved items lives in
:mod:`clipgen_provider.operators._review_items`.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import (
    AirflowFailException,
    AirflowOptionalProviderFeatureException,
)
from airflow.sdk import Param, XComArg
from airflow.sdk.definitions.param import ParamsDict
from typing_extensions import TypedDict

from clipgen_provider.exceptions import ClipgenConfigError
from clipgen_provider.operators._job import fail_fast_on_permanent_errors
from clipgen_provider.operators._review_items import (
    APPROVE_ALL,
    APPROVE_SELECTED,
    REGENERATE,
    REJECT,
    ReviewItem,
    UpstreamResult,
    decide,
    render_body,
    review_items,
)

try:
    from airflow.providers.standard.operators.hitl import HITLBranchOperator, HITLOperator
except (ImportError, AirflowOptionalProviderFeatureException) as _missing:
    raise ClipgenConfigError(
        "ClipgenReviewOperator builds on Airflow's human-in-the-loop operators, which need Airflow 3.1 "
        "or newer and apache-airflow-providers-standard 1.12 or newer "
        f"({type(_missing).__name__}: {_missing}). Upgrade them, or drop the review task from the DAG."
    ) from _missing

if TYPE_CHECKING:
    from airflow.sdk import Context

__all__ = [
    "APPROVE_ALL",
    "APPROVE_SELECTED",
    "DEFAULT_RESPONSE_TIMEOUT",
    "ITEMS_XCOM_KEY",
    "NOTE_PARAM",
    "NOTE_XCOM_KEY",
    "REGENERATE",
    "REJECT",
    "SELECTED_PARAM",
    "ClipgenReviewOperator",
    "ReviewResult",
    "with_review_note",
]

#: the form field holding the labels of the items the reviewer ticked (``["item 1", "item 3"]``)
SELECTED_PARAM = "selected"
#: the form field holding the reviewer's note (added to the prompt on *Regenerate*)
NOTE_PARAM = "note"
#: XCom key of the items the page showed (read back when the answer comes)
ITEMS_XCOM_KEY = "review_items"
#: XCom key of the reviewer's note, pulled by :func:`with_review_note`
NOTE_XCOM_KEY = "review_note"
#: how long a review waits for an answer unless told otherwise
DEFAULT_RESPONSE_TIMEOUT = timedelta(hours=24)
#: the XComs a next task takes as they are (as the generate tasks push them)
_HANDOFF_KEYS = ("media_urls", "stored_paths")
#: HITL arguments the review sets itself
_FIXED_ARGUMENTS = ("options", "options_mapping", "defaults", "multiple")
#: standard provider 1.12 (Airflow 3.1's) has no ``response_timeout``: the wait is bounded by
#: ``execution_timeout`` there
_HAS_RESPONSE_TIMEOUT = "response_timeout" in inspect.signature(HITLOperator.__init__).parameters


class ReviewResult(TypedDict):
    """The XCom return value of :class:`ClipgenReviewOperator`."""

    #: ``approved``, ``regenerate`` or ``rejected``
    decision: str
    #: the option chosen (``Approve selected`` …), or the ``timeout_decision`` applied
    chosen_option: str
    #: the approved items: label, task_id, map_index, url, kind, stored_path, model, cost, job_id, prompt
    approved: list[dict[str, Any]]
    #: the media URLs of the approved items
    media_urls: list[str]
    #: the stored copies of the approved items (those whose generate task had an ``output_path``)
    stored_paths: list[str]
    #: the labels the reviewer ticked
    selected: list[str]
    #: the reviewer's note, if any
    note: str | None
    #: who answered (``{"id", "name"}``); None when the timeout decided
    responded_by: dict[str, str] | None
    #: True when nobody answered within ``response_timeout``
    timed_out: bool


def with_review_note(prompt: str, review_task_id: str = "review") -> str:
    """``prompt`` as a template that adds the note of review ``review_task_id``, when there is one.

    Give it as the prompt of the generate task the review's *Regenerate* option runs::

        ClipiaGenerateOperator(task_id="regenerate", inputs={"prompt": with_review_note("A red mug")}, ...)

    renders ``A red mug. Reviewer note: warmer light`` after a *Regenerate* with the note
    ``warmer light``, and ``A red mug`` when the note was left empty.
    """
    pull = f"ti.xcom_pull(task_ids={review_task_id!r}, key={NOTE_XCOM_KEY!r})"
    return f"{prompt}{{% set note = {pull} %}}{{% if note %}}. Reviewer note: {{{{ note }}}}{{% endif %}}"


def _task_ids(generations: Any) -> tuple[list[str], list[Any]]:
    """The task ids of ``generations`` (ids, tasks or their ``.output``) and the tasks given as objects."""
    entries = list(generations) if isinstance(generations, list | tuple) else [generations]
    if not entries:
        raise ClipgenConfigError("generations is empty: name the generate tasks whose media to review.")
    task_ids: list[str] = []
    tasks: list[Any] = []
    for entry in entries:
        if isinstance(entry, str):
            task_ids.append(entry)
        elif isinstance(entry, XComArg):
            for operator, key in entry.iter_references():
                if key != "return_value":
                    raise ClipgenConfigError(
                        f"generations got {operator.task_id}.output[{key!r}]: pass the generate task "
                        f"itself or {operator.task_id}.output (its whole result), not one of its keys."
                    )
                task_ids.append(operator.task_id)
                tasks.append(operator)
        elif isinstance(getattr(entry, "task_id", None), str):
            task_ids.append(entry.task_id)
            tasks.append(entry)
        else:
            raise ClipgenConfigError(
                f"generations takes task ids, tasks or their .output, not {type(entry).__name__} {entry!r}."
            )
    return list(dict.fromkeys(task_ids)), tasks


def _task_params(params: Any, dag_keys: set[str]) -> dict[str, Param]:
    """The params given to the task itself: Airflow hands ``__init__`` the DAG's merged in, tagged
    ``source="dag"`` since 3.2; on 3.1 (no tags) a key of the DAG's params counts as the DAG's."""
    given = params if isinstance(params, ParamsDict) else ParamsDict(params or {})
    own = {}
    for key in given:
        source = getattr(given.get_param(key), "source", None)
        if source != "dag" and not (source is None and key in dag_keys):
            own[key] = given.get_param(key)
    return own


def _as_timedelta(value: timedelta | float | None) -> timedelta | None:
    if value is None or isinstance(value, timedelta):
        timeout = value
    elif isinstance(value, int | float):
        timeout = timedelta(seconds=value)
    else:
        raise ClipgenConfigError(f"response_timeout takes a timedelta or seconds, not {value!r}.")
    if timeout is not None and timeout <= timedelta(0):
        raise ClipgenConfigError(f"response_timeout must be positive, not {timeout}.")
    return timeout


class ClipgenReviewOperator(HITLBranchOperator):
    """Show the media of upstream generate tasks on Airflow's required-actions page and branch on
    the answer: *Approve all*, *Approve selected*, *Regenerate* (with a note) or *Reject*.

    The page shows each media file as ``item 1``, ``item 2`` … (images as thumbnails, videos and
    audio as links) with its task and map index, model or format, cost, job id, prompt (when the
    DAG states it) and stored copy. The form has two fields: ``selected`` (the labels of the items
    to approve) and ``note``. The operator returns a :class:`ReviewResult` and pushes its
    ``media_urls`` and ``stored_paths`` (of the approved items) as XComs of their own, so a
    publishing task takes ``review.output["stored_paths"]`` as it would a generate task's.

    *Approve all* and *Approve selected* run every direct downstream task except
    ``regenerate_to``; *Regenerate* runs ``regenerate_to`` only, with the note in XCom
    ``review_note`` (see :func:`with_review_note`); *Reject* skips every direct downstream task.
    No worker slot is held while the review waits.

    :param generations: the generate tasks (or sensors) whose media to review: task ids, tasks, or
        their ``.output``; a mapped task brings every map index's media. Tasks and ``.output`` are
        made upstream of the review; a task id must be upstream already.
    :param regenerate_to: task id(s) the *Regenerate* option runs (direct downstream of the
        review); None offers no *Regenerate*.
    :param subject: the page's headline (templated)
    :param body: Markdown shown above the items (templated)
    :param response_timeout: how long to wait for an answer (timedelta or seconds; default 24 h);
        None waits without limit.
    :param timeout_decision: the option applied when nobody answers in time: ``Reject`` (default),
        ``Approve all`` or ``Regenerate``; None fails the review task instead.
    :param fail_on_reject: fail the review task on *Reject* instead of skipping what follows.
    :param params: extra form fields of your own (Airflow ``Param`` s), shown with ``selected``
        and ``note`` (the answers are in the task's human-in-the-loop detail).

    Airflow's HITL arguments ``notifiers`` and ``assigned_users`` pass through; ``options``,
    ``options_mapping``, ``defaults`` and ``multiple`` are set by the review.
    """

    ui_color = "#ffe9c7"

    def __init__(
        self,
        *,
        generations: str | Any | Sequence[Any],
        regenerate_to: str | Sequence[str] | None = None,
        subject: str = "Review the generated media",
        body: str | None = None,
        response_timeout: timedelta | float | None = DEFAULT_RESPONSE_TIMEOUT,
        timeout_decision: str | None = REJECT,
        fail_on_reject: bool = False,
        params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if given := [name for name in _FIXED_ARGUMENTS if name in kwargs]:
            raise ClipgenConfigError(
                f"ClipgenReviewOperator sets {', '.join(given)} itself (its options are {APPROVE_ALL!r}, "
                f"{APPROVE_SELECTED!r}, {REGENERATE!r}, {REJECT!r}); drop the argument."
            )
        task_ids, tasks = _task_ids(generations)
        regenerate_ids = [regenerate_to] if isinstance(regenerate_to, str) else list(regenerate_to or [])
        options = [APPROVE_ALL, APPROVE_SELECTED, *([REGENERATE] if regenerate_ids else []), REJECT]
        if timeout_decision is not None and (
            timeout_decision not in options or timeout_decision == APPROVE_SELECTED
        ):
            allowed = [option for option in options if option != APPROVE_SELECTED]
            raise ClipgenConfigError(
                f"timeout_decision={timeout_decision!r} is not one of {allowed} (or None to fail the task "
                "when nobody answers); Regenerate is offered only with regenerate_to."
            )
        if clash := {SELECTED_PARAM, NOTE_PARAM} & set(params or {}):
            raise ClipgenConfigError(
                f"params {sorted(clash)} are the review's own form fields; rename yours."
            )
        timeout = _as_timedelta(response_timeout)
        if _HAS_RESPONSE_TIMEOUT:
            kwargs["response_timeout"] = timeout
        else:
            kwargs["execution_timeout"] = timeout
        form = {**(params or {}), **self._form_fields(labels=[])}
        super().__init__(
            subject=subject,
            body=body,
            options=options,
            defaults=[timeout_decision] if timeout_decision else None,
            multiple=False,
            params=form,
            **kwargs,
        )
        # the review's fields and the author's only (a subclass's __init__ gets the DAG's merged in
        # again, tagged as the task's, past the standard provider's own filter)
        self.params = ParamsDict(_task_params(form, set(self.dag.params) if self.has_dag() else set()))
        #: the upstream tasks whose media the review shows, by task id
        self.generations = task_ids
        self.regenerate_to = regenerate_ids
        self.timeout_decision = timeout_decision
        self.fail_on_reject = fail_on_reject
        self.review_timeout = timeout
        for task in tasks:
            self.set_upstream(task)

    @staticmethod
    def _form_fields(labels: list[str]) -> dict[str, Param]:
        """The review's form: ``selected`` (a multi-select of ``labels``) and ``note``."""
        selected_schema: dict[str, Any] = {"type": ["array", "null"], "items": {"type": "string"}}
        if labels:
            selected_schema["examples"] = labels  # the form offers the labels as a multi-select
        return {
            SELECTED_PARAM: Param(
                [],
                title="Items to approve",
                description=f"Tick the items to keep, then choose {APPROVE_SELECTED!r}.",
                **selected_schema,
            ),
            NOTE_PARAM: Param(
                None,
                type=["null", "string"],
                title="Note",
                description=f"With {REGENERATE!r}: added to the prompt of the new generation.",
            ),
        }

    # -- asking ------------------------------------------------------------------------------
    def execute(self, context: Context) -> Any:
        """Collect the upstream media, write the page, then wait for an answer without a worker slot."""
        with fail_fast_on_permanent_errors():
            items = review_items(self._upstream_results(context))
            if not items:
                raise ClipgenConfigError(
                    f"No media to review: {', '.join(self.generations)} returned no media files (were they "
                    "skipped, or did every map index fail?). Nothing was asked."
                )
        context["ti"].xcom_push(key=ITEMS_XCOM_KEY, value=[item.as_dict() for item in items])
        for name, param in self._form_fields([item.label for item in items]).items():
            self.params[name] = param
        self.body = render_body(
            items, intro=self.body, options=self.options, timeout_note=self._timeout_note()
        )
        self.log.info(
            "Asking for a review of %d media file(s) from %s; answer on the task's Required Actions page%s.",
            len(items),
            ", ".join(self.generations),
            self._page_hint(context),
        )
        return super().execute(context)

    def _upstream_results(self, context: Context) -> list[UpstreamResult]:
        """What each upstream generation returned, by task and map index, with its prompt if known."""
        ti = context["ti"]
        dag = self.get_dag()
        upstream = self.get_flat_relative_ids(upstream=True)
        results: list[UpstreamResult] = []
        for task_id in self.generations:
            if dag is None or not dag.has_task(task_id):
                raise ClipgenConfigError(f"generations names {task_id!r}, which is not a task of this DAG.")
            if task_id not in upstream:
                raise ClipgenConfigError(
                    f"{task_id!r} is not upstream of the review {self.task_id!r}, so its media may not exist "
                    f"yet: add {task_id} >> {self.task_id}, or pass the task (or its .output) as generations."
                )
            task = dag.get_task(task_id)
            if task.is_mapped or task.get_closest_mapped_task_group() is not None:
                count = ti.get_ti_count(dag_id=ti.dag_id, task_ids=[task_id], run_ids=[ti.run_id])
                indexes = list(range(count))
            else:
                indexes = [-1]
            values = ti.xcom_pull(task_ids=[task_id], map_indexes=indexes) if indexes else []
            for map_index, value in zip(indexes, values, strict=True):
                results.append(
                    UpstreamResult(task_id, map_index, value, self._prompt_of(task, map_index, context))
                )
        return results

    def _prompt_of(self, task: Any, map_index: int, context: Context) -> str | None:
        """The prompt the DAG gives ``task`` (at ``map_index`` of a literal expand list), rendered in
        this run; None when the DAG does not state one (e.g. ``@task.clipia`` computes it)."""
        inputs: Any = None
        if task.is_mapped:
            mapped = getattr(getattr(task, "expand_input", None), "value", None)
            listed = mapped.get("inputs") if isinstance(mapped, dict) else None
            if isinstance(listed, list) and 0 <= map_index < len(listed):
                inputs = listed[map_index]
            else:
                inputs = getattr(task, "partial_kwargs", {}).get("inputs")
        else:
            inputs = getattr(task, "inputs", None)
        prompt = inputs.get("prompt") if isinstance(inputs, dict) else None
        if not isinstance(prompt, str):
            return None
        # shown to help the reviewer only: a template this run cannot render is shown as written
        try:
            return str(self.render_template(prompt, context))
        except Exception:
            return prompt

    def _timeout_note(self) -> str:
        if self.review_timeout is None:
            return "This review waits for an answer without a time limit."
        wait = f"within {self.review_timeout}"
        if self.timeout_decision is None:
            return f"Without an answer {wait}, the review task fails."
        return f"Without an answer {wait}, the review applies **{self.timeout_decision}**."

    def _page_hint(self, context: Context) -> str:
        try:
            return f" ({self.generate_link_to_ui_from_context(context=context)})"
        except ValueError:  # no [api] base_url configured: the page is still under the task instance
            return ""

    # -- the answer --------------------------------------------------------------------------
    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        """Map the answer to the approved items, push them, and branch (or skip, or fail on reject)."""
        answer = super(HITLBranchOperator, self).execute_complete(context=context, event=event)
        ti = context["ti"]
        shown = ti.xcom_pull(task_ids=self.task_id, key=ITEMS_XCOM_KEY, map_indexes=ti.map_index) or []
        items = [ReviewItem.from_dict(item) for item in shown]
        option = answer["chosen_options"][0]
        params_input = answer["params_input"] or {}
        timed_out = bool(event.get("timedout")) or (
            answer["responded_by_user"] is None and self.timeout_decision is not None
        )
        with fail_fast_on_permanent_errors():
            verdict = decide(items, option, params_input.get(SELECTED_PARAM), params_input.get(NOTE_PARAM))
        if timed_out:
            self.log.warning("Nobody answered within %s: applying %r.", self.review_timeout, option)
        else:
            self.log.info(
                "%s chose %r%s.",
                (answer["responded_by_user"] or {}).get("name", "The reviewer"),
                option,
                f" for {', '.join(verdict.selected)}" if verdict.selected else "",
            )
        result: ReviewResult = {
            "decision": verdict.decision,
            "chosen_option": option,
            "approved": [item.as_dict() for item in verdict.approved],
            "media_urls": [item.url for item in verdict.approved],
            "stored_paths": [item.stored_path for item in verdict.approved if item.stored_path],
            "selected": verdict.selected,
            "note": verdict.note,
            "responded_by": dict(answer["responded_by_user"]) if answer["responded_by_user"] else None,
            "timed_out": timed_out,
        }
        # pushed here, not returned only: branching away from a task ends this method with Airflow's
        # skip exception, which drops the return value
        ti.xcom_push(key="return_value", value=result)
        for key in _HANDOFF_KEYS:
            ti.xcom_push(key=key, value=result[key])  # type: ignore[literal-required]
        ti.xcom_push(key=NOTE_XCOM_KEY, value=verdict.note)
        for item in verdict.approved:
            self.log.info("Approved %s: %s", item.label, item.stored_path or item.url)
        if verdict.decision == "rejected" and self.fail_on_reject:
            raise AirflowFailException(f"The review was answered {option!r} (fail_on_reject=True).")
        self.do_branch(context, self._branches(verdict.decision) or None)
        return result

    def _branches(self, decision: str) -> list[str]:
        """The direct downstream task ids a decision runs."""
        if decision == "rejected":
            return []
        if missing := [task_id for task_id in self.regenerate_to if task_id not in self.downstream_task_ids]:
            raise AirflowFailException(
                f"regenerate_to names {missing}, which are not directly downstream of {self.task_id!r}: "
                f"add {self.task_id} >> {missing[0]}."
            )
        if decision == "regenerate":
            return list(self.regenerate_to)
        return sorted(self.downstream_task_ids - set(self.regenerate_to))
