"""The shapes of the dicts the provider's tasks return (their XCom values) and its hooks answer.

Every type here is a :class:`~typing.TypedDict`: at run time the values are plain dicts (XCom
stores them as JSON), and in a DAG or a TaskFlow function they give a type checker and an editor
the keys a next task can read::

    from clipgen_provider.results import ClipiaGenerateResult

    @task
    def first_image(result: ClipiaGenerateResult) -> str:
        return result["media_urls"][0]

Keys marked ``NotRequired`` are present only in some cases (``stored_paths``: only when the task
has an ``output_path``). This module imports nothing but ``typing``, so importing it is free.
"""

# no ``from __future__ import annotations``: TypedDict must see ``NotRequired`` at run time to tell
# optional keys from required ones (``__optional_keys__``)
from typing import Any, Literal

from typing_extensions import NotRequired, TypedDict

__all__ = [
    "ClipiaAccount",
    "ClipiaBalance",
    "ClipiaEstimate",
    "ClipiaGenerateResult",
    "ClipiaInputWarning",
    "ClipiaSubmitAnswer",
    "ClipiaSubmittedResult",
    "ClipiaUsage",
    "ClipwiseDeleteResult",
    "ClipwiseExtractUrlResult",
    "ClipwiseGenerationResult",
    "ClipwiseProductResult",
    "ClipwiseResourceResult",
    "ClipwiseSubmittedResult",
    "ClipwiseVoiceResult",
    "RunCostLine",
    "RunCostReport",
]


# -- Clipia ------------------------------------------------------------------------------------
class ClipiaInputWarning(TypedDict):
    """An input key the model will not apply (the request is still accepted)."""

    #: ``unknown_parameter`` (no model declares it) or ``unsupported_parameter`` (another does)
    code: str
    #: the input key
    parameter: str
    #: why it is not applied, in Clipia's words
    message: str


class ClipiaSubmitAnswer(TypedDict):
    """What :meth:`ClipiaHook.submit <clipgen_provider.hooks.clipia.ClipiaHook.submit>` answers."""

    #: the request's id: what ``ClipiaRequestSensor(request_id=...)`` waits for
    request_id: str
    #: ``IN_QUEUE`` right after a submit
    status: str
    #: place in the queue (0: next)
    queue_position: int | None
    #: the URL of the request's status
    status_url: str
    #: the URL of the request's result
    response_url: str
    #: credits reserved for the request (the charge is known once it finishes)
    cost: float
    #: the input keys the model will not apply (empty when it applies them all)
    warnings: list[ClipiaInputWarning]


class ClipiaEstimate(TypedDict):
    """What a submit would cost: the hook's ``estimate`` and ``ClipiaEstimateOperator``'s XCom."""

    #: what a submit of this input would cost
    credits: float
    #: the input keys the model would not apply
    warnings: list[ClipiaInputWarning]


class ClipiaBalance(TypedDict):
    """The ``balance`` of a :class:`ClipiaAccount`."""

    #: credits left to spend
    credits: float


class ClipiaUsage(TypedDict):
    """The ``usage_30d`` of a :class:`ClipiaAccount`."""

    #: requests submitted in the last 30 days
    requests: int
    #: credits charged in the last 30 days
    credits_spent: float


class ClipiaAccount(TypedDict):
    """What :meth:`ClipiaHook.get_account <clipgen_provider.hooks.clipia.ClipiaHook.get_account>` answers."""

    #: the account the API key belongs to
    account_id: str
    #: what is left to spend
    balance: ClipiaBalance
    #: what was spent in the last 30 days
    usage_30d: ClipiaUsage


class ClipiaGenerateResult(TypedDict):
    """The XCom of ``ClipiaGenerateOperator`` and ``ClipiaRequestSensor``: a finished request."""

    #: the request's id
    request_id: str
    #: ``COMPLETED`` (a failed request fails the task instead)
    status: str
    #: the model slug
    model: str | None
    #: the model's output as Clipia returns it (``images``, ``video``, ``audio``, ``audios``)
    output: dict[str, Any] | None
    #: credits charged
    cost: float | None
    #: every image, video and audio URL in ``output``, once each
    media_urls: list[str]
    #: when the request was submitted (ISO 8601, UTC)
    created_at: str | None
    #: when it finished (ISO 8601, UTC)
    completed_at: str | None
    #: where ``output_path`` stored each media file (only with ``output_path``)
    stored_paths: NotRequired[list[str]]


class ClipiaSubmittedResult(TypedDict):
    """The XCom of ``ClipiaGenerateOperator(wait_for_completion=False)``: a request sent, not awaited."""

    #: the request's id: what ``ClipiaRequestSensor(request_id=...)`` waits for
    request_id: str
    #: ``submitted`` when just sent; a retry that found the request reports its status
    status: str
    #: the model slug
    model: str


# -- Clipwise ----------------------------------------------------------------------------------
class ClipwiseGenerationResult(TypedDict):
    """The XCom of ``ClipwiseGenerateOperator`` and ``ClipwiseGenerationSensor``: a finished generation."""

    #: the generation's id (``gen_…``)
    generation_id: str
    #: the format or tool slug
    format: str | None
    #: the format's mode, for formats that have several
    mode: str | None
    #: ``completed`` (a failed or cancelled generation fails the task instead)
    status: str
    #: the API's ``outputs`` object, unchanged
    outputs: dict[str, Any]
    #: set for rendered videos
    video_url: str | None
    #: set for tools and image formats (``outputs.result.url``)
    result_url: str | None
    #: set for ``video_to_text``
    transcript: str | None
    #: the id of the result in the account's generated media
    generated_media_id: str | None
    #: every media URL once: the video, then each result URL (one per image variation)
    media_urls: list[str]
    #: where ``output_path`` stored each media file (only with ``output_path``)
    stored_paths: NotRequired[list[str]]


class ClipwiseSubmittedResult(TypedDict):
    """The XCom of ``ClipwiseGenerateOperator(wait_for_completion=False)``: a generation started, not
    awaited."""

    #: the generation's id: what ``ClipwiseGenerationSensor(generation_id=...)`` waits for
    generation_id: str
    #: ``submitted`` when just sent; a retry that found the generation reports its status
    status: str
    #: the format or tool slug
    format: str


class ClipwiseExtractUrlResult(TypedDict):
    """The XCom of ``ClipwiseExtractUrlOperator``: a social video link turned into a video URL."""

    #: the extraction's id
    extract_task_id: str
    #: the social video link that was extracted
    source_url: str | None
    #: the usable video URL, e.g. for a generation's ``video`` input
    video_url: str | None
    #: ``[video_url]``, or empty
    media_urls: list[str]
    #: where ``output_path`` stored the video (only with ``output_path``)
    stored_paths: NotRequired[list[str]]


class ClipwiseProductResult(TypedDict):
    """The XCom of ``ClipwiseCreateProductOperator``."""

    #: the new product's id: a generation's ``product_id``
    product_id: str
    #: the product as the API answered it
    product: dict[str, Any]


class ClipwiseResourceResult(TypedDict):
    """The XCom of ``ClipwiseGenerateResourceOperator``."""

    #: the new resource's id: a generation's ``avatar`` or ``background_image``
    resource_id: str
    #: the resource as the API answered it
    resource: dict[str, Any]


class ClipwiseVoiceResult(TypedDict):
    """The XCom of ``ClipwiseCloneVoiceOperator``."""

    #: the new voice's id: a generation's ``voice``
    voice_id: str
    #: the ``voices`` resource as the API answered it
    voice: dict[str, Any]


class ClipwiseDeleteResult(TypedDict):
    """The XCom of ``ClipwiseDeleteOperator``."""

    #: what kind of asset it was (as given to the operator)
    resource_type: str
    #: the id that was deleted
    asset_id: str
    #: False when it was already gone (and ``missing_ok``)
    deleted: bool


# -- run cost ----------------------------------------------------------------------------------
class RunCostLine(TypedDict):
    """What one task instance cost: a line of :class:`RunCostReport`."""

    task_id: str
    #: -1 for an unmapped task
    map_index: int
    #: the task instance's state (``success``, ``failed``, ``skipped``, ``upstream_failed``, …)
    state: str | None
    #: the API of the job it ran, when it ran one
    api: Literal["clipia", "clipwise"] | None
    #: ``request_id`` (Clipia) or ``generation_id`` (Clipwise)
    job_id: str | None
    #: the job's status as the API reported it (``COMPLETED``, ``FAILED``, …)
    job_status: str | None
    #: credits charged (0 when nothing was); None when unknown: Clipwise reports no price, a value
    #: could not be read or interpreted, or the task has not finished
    credits: float | None
    #: how the number was found, or why it is unknown
    note: str


class RunCostReport(TypedDict):
    """The XCom of ``ClipgenRunCostOperator``."""

    #: the sum of every line's known credits (a request two tasks name is counted once)
    total_credits: float
    #: one line per task instance, by task id then map index
    lines: list[RunCostLine]
    #: credits by label (``task``, or ``task[3]`` for map index 3) of every line with a number
    by_task: dict[str, float]
    #: labels of the lines with no number, which the total leaves out
    uncounted: list[str]
