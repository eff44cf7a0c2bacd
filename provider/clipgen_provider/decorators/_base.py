"""What ``@task.clipia`` and ``@task.clipwise`` share: the decorated function returns the job's inputs.

A decorated generate operator is the generate operator itself (every option, the submit-once
ledger, the deferral, the result) with one difference: ``inputs`` is not an argument but the
return value of the decorated function, called in ``execute`` on the worker. It is called only
there, so a task resumed after its deferral (``execute_complete``) does not call it again; a retry
does, and then the job flow's rules apply unchanged (see ``docs/taskflow.md#retries``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from typing import Any, ClassVar

from airflow.providers.common.compat.sdk import Context, DecoratedOperator, determine_kwargs

# The placeholder Airflow's own decorators give an argument the function supplies at run time (the
# standard provider's @task.bash imports it from here on Airflow 3.1 to 3.3).
from airflow.sdk.definitions._internal.types import SET_DURING_EXECUTION

from clipgen_provider.exceptions import ClipgenConfigError
from clipgen_provider.operators._job import fail_fast_on_permanent_errors

#: the generate operators' names for the job's inputs, which the function's return value replaces
_INPUT_ARGUMENTS = ("inputs", "input")
#: task_state_store key of the inputs the function returned, shown again after a deferral
_SHOWN_INPUTS = "taskflow_inputs"


def checked_inputs(returned: Any, *, decorator: str, function: str, example: str) -> dict[str, Any]:
    """The decorated function's return value as the job's inputs, or a clear error (nothing sent).

    :param returned: what the function returned
    :param decorator: the decorator's name for the message, e.g. ``@task.clipia``
    :param function: the decorated function's name
    :param example: a valid return value for the message, e.g. ``{"prompt": "..."}``
    """
    if returned is None:
        raise ClipgenConfigError(
            f"{decorator} function {function}() returned None: it must return the inputs as a dict, "
            f"e.g. return {example}. Nothing was submitted."
        )
    if not isinstance(returned, Mapping):
        raise ClipgenConfigError(
            f"{decorator} function {function}() returned a {type(returned).__name__}, not a dict of "
            f"inputs: return them as a dict, e.g. return {example}. Nothing was submitted."
        )
    if bad_keys := [key for key in returned if not isinstance(key, str)]:
        raise ClipgenConfigError(
            f"{decorator} function {function}() returned inputs whose keys are not all strings "
            f"({', '.join(repr(key) for key in bad_keys)}): name each input by its parameter name, "
            f"e.g. return {example}. Nothing was submitted."
        )
    return dict(returned)


class GenerateDecoratedOperator(DecoratedOperator):
    """Base of a decorated generate operator: ``inputs`` come from the decorated function.

    A concrete class lists this base, then the generate operator (``ClipiaGenerateOperator`` …), so
    ``execute`` runs here, then in ``DecoratedOperator``, then the generate operator's job flow.
    """

    #: how a DAG author writes the decorator, e.g. ``@task.clipia``
    custom_operator_name: str
    #: a valid return value, shown in errors
    inputs_example: ClassVar[str]
    #: the job's inputs: a placeholder until ``execute`` calls the function
    inputs: Any
    #: set by the generate operator (``ClipgenJobOperator``)
    deferrable: bool
    #: the rendered-fields view shows the inputs the function returned, not the placeholder
    overwrite_rtif_after_execution: bool = True

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: Collection[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if given := [name for name in _INPUT_ARGUMENTS if name in kwargs]:
            raise ClipgenConfigError(
                f"{self.custom_operator_name} takes the inputs from what the decorated function "
                f"returns; drop {given[0]}= from the decorator and return the inputs, e.g. return "
                f"{self.inputs_example}."
            )
        super().__init__(
            python_callable=python_callable,
            op_args=op_args,
            op_kwargs=op_kwargs,
            inputs=SET_DURING_EXECUTION,
            **kwargs,
        )

    def execute(self, context: Context) -> Any:
        """Call the function for the inputs, then run the generate operator's job flow with them."""
        with fail_fast_on_permanent_errors():
            self.inputs = self.inputs_from_function(context)
        store = context.get("task_state_store")
        if self.deferrable and store is not None:
            store.set(_SHOWN_INPUTS, json.loads(json.dumps(self.inputs, default=str)))
        return super().execute(context)

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context) -> Any:
        """Resume after the deferral, showing the inputs the function returned in the rendered fields.

        A resumed task is rendered afresh from the DAG, where ``inputs`` is the placeholder; the copy
        kept before deferring (values as JSON, paths as text) replaces it for the task's
        *Rendered Template* view. The job flow after a deferral does not read ``inputs``.
        """
        store = context.get("task_state_store")
        shown = store.get(_SHOWN_INPUTS) if store is not None else None
        if isinstance(shown, dict):
            self.inputs = shown
        return super().resume_execution(next_method, next_kwargs, context)

    def inputs_from_function(self, context: Context) -> dict[str, Any]:
        """Call the decorated function with its arguments (and the context keys it names); check
        that it returned a dict.

        The arguments are not merged into ``context`` itself: the job flow reads that context next.
        """
        kwargs = determine_kwargs(self.python_callable, self.op_args, {**context, **self.op_kwargs})
        returned = self.python_callable(*self.op_args, **kwargs)
        return checked_inputs(
            returned,
            decorator=self.custom_operator_name,
            function=getattr(self.python_callable, "__name__", "the function"),
            example=self.inputs_example,
        )
