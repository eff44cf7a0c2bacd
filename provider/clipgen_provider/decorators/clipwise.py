"""``@task.clipwise``: a TaskFlow task whose function returns a Clipwise format's inputs.

The task is a :class:`~clipgen_provider.operators.clipwise.ClipwiseGenerateOperator`: it checks the
inputs against the format, uploads files, submits once, defers, and returns the same result; every
option of that operator is a decorator argument.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import DecoratedOperator, task_decorator_factory

from clipgen_provider.decorators._base import GenerateDecoratedOperator
from clipgen_provider.operators.clipwise import ClipwiseGenerateOperator

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import TaskDecorator


class _ClipwiseDecoratedOperator(GenerateDecoratedOperator, ClipwiseGenerateOperator):
    """A ``ClipwiseGenerateOperator`` whose ``inputs`` are what the decorated function returns.

    :param python_callable: the decorated function; it returns the format's inputs as a dict
        (``prompt`` and ``script`` may be among them, or be decorator arguments)
    :param op_args: positional arguments of the function (templated)
    :param op_kwargs: keyword arguments of the function (templated)
    """

    template_fields: Sequence[str] = (
        *DecoratedOperator.template_fields,
        *ClipwiseGenerateOperator.template_fields,
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        **DecoratedOperator.template_fields_renderers,
        **ClipwiseGenerateOperator.template_fields_renderers,
    }
    custom_operator_name: str = "@task.clipwise"
    inputs_example: ClassVar[str] = (
        '{"script": "I tried this serum for a week...", "avatar": "res_avatar_ava"}'
    )


def clipwise_task(
    python_callable: Callable[..., Any] | None = None,
    *,
    format: str,
    multiple_outputs: bool | None = None,
    **kwargs: Any,
) -> TaskDecorator:
    """Wrap a function that returns a Clipwise format's inputs into a generate task: ``@task.clipwise``.

    Usage::

        @task.clipwise(format="ugc_video", output_path="s3://bucket/videos")
        def ugc_video(shot: dict[str, Any]) -> dict[str, Any]:
            return {"script": "...", "product_images": shot["stored_paths"], "avatar": "res_avatar_ava"}

    The task returns what ``ClipwiseGenerateOperator`` returns (``generation_id``, ``status``,
    ``media_urls``, ``stored_paths`` with ``output_path`` …), as an ``XComArg``.

    :param python_callable: the function (given by the decorator syntax)
    :param format: format or tool, e.g. ``ugc_video``, ``static_ad`` (templated)
    :param multiple_outputs: push each key of the task's result as an XCom of its own. Default
        False: the function's return annotation describes the inputs it returns, not the task's
        result, so it is not read for this.
    :param kwargs: every other argument of ``ClipwiseGenerateOperator`` (``prompt``, ``script``,
        ``output_path``, ``deferrable`` …) and of ``BaseOperator``
    """
    return task_decorator_factory(
        python_callable=python_callable,
        multiple_outputs=bool(multiple_outputs),
        decorated_operator_class=_ClipwiseDecoratedOperator,
        format=format,
        **kwargs,
    )
