"""``@task.clipia``: a TaskFlow task whose function returns a Clipia model's inputs.

The task is a :class:`~clipgen_provider.operators.clipia.ClipiaGenerateOperator`: it submits once,
defers, and returns the same result; every option of that operator is a decorator argument.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import DecoratedOperator, task_decorator_factory

from clipgen_provider.decorators._base import GenerateDecoratedOperator
from clipgen_provider.operators.clipia import ClipiaGenerateOperator

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import TaskDecorator


class _ClipiaDecoratedOperator(GenerateDecoratedOperator, ClipiaGenerateOperator):
    """A ``ClipiaGenerateOperator`` whose ``inputs`` are what the decorated function returns.

    :param python_callable: the decorated function; it returns the model's inputs as a dict
    :param op_args: positional arguments of the function (templated)
    :param op_kwargs: keyword arguments of the function (templated)
    """

    template_fields: Sequence[str] = (
        *DecoratedOperator.template_fields,
        *ClipiaGenerateOperator.template_fields,
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        **DecoratedOperator.template_fields_renderers,
        **ClipiaGenerateOperator.template_fields_renderers,
    }
    custom_operator_name: str = "@task.clipia"
    inputs_example: ClassVar[str] = '{"prompt": "A ceramic mug on a marble counter"}'


def clipia_task(
    python_callable: Callable[..., Any] | None = None,
    *,
    model: str,
    multiple_outputs: bool | None = None,
    **kwargs: Any,
) -> TaskDecorator:
    """Wrap a function that returns a Clipia model's inputs into a generate task: ``@task.clipia``.

    Usage::

        @task.clipia(model="nano-banana-2", max_credits=10, output_path="s3://bucket/shots")
        def product_shot(product: str) -> dict[str, Any]:
            return {"prompt": f"Studio photo of a {product}"}


        product_shot.expand(product=["mug", "tote"])

    The task returns what ``ClipiaGenerateOperator`` returns (``request_id``, ``status``,
    ``media_urls``, ``cost``, ``stored_paths`` with ``output_path`` …), as an ``XComArg``.

    :param python_callable: the function (given by the decorator syntax)
    :param model: model slug, e.g. ``nano-banana-2`` (templated)
    :param multiple_outputs: push each key of the task's result as an XCom of its own. Default
        False: the function's return annotation describes the inputs it returns, not the task's
        result, so it is not read for this.
    :param kwargs: every other argument of ``ClipiaGenerateOperator`` (``max_credits``,
        ``output_path``, ``wait_for_webhook``, ``deferrable`` …) and of ``BaseOperator``
    """
    return task_decorator_factory(
        python_callable=python_callable,
        multiple_outputs=bool(multiple_outputs),
        decorated_operator_class=_ClipiaDecoratedOperator,
        model=model,
        **kwargs,
    )
