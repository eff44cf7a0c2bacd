"""OpenLineage for the generate operators and the job sensors: what a job read, made and cost.

With the ``openlineage`` extra installed (``apache-airflow-providers-openlineage``) and a transport
configured, OpenLineage's listener calls :meth:`JobLineageMixin.get_openlineage_facets_on_complete`
in the worker after every try of a :class:`~clipgen_provider.operators._job.ClipgenJobOperator` or
:class:`~clipgen_provider.sensors._job.ClipgenJobSensor` (and, as it has no separate failure method,
after a failed try too). It returns:

* **inputs**: the files and assets the task handed to the job — Clipia media inputs (``image_url``
  …), Clipwise file parameters (``image``, ``product_images`` …, files and asset ids alike), the
  link a URL extraction read. They come from the task's rendered templated fields, which every
  process of the task renders again, so they are the same after a deferral, when
  ``execute_complete`` runs in a new worker process. A sensor hands nothing to its job: no inputs.
* **outputs**: the media the job made (``media_urls``) and the copies ``output_path`` stored
  (``stored_paths``), from the result the task handed on in this process (:attr:`lineage_result`).
* the ``clipgenJob`` run facet (:func:`run_facet`): job id, API, model or format, cost and status.

Datasets are named as the OpenLineage naming spec names files: a local file is namespace ``file``
with its absolute path; a file in object storage is ``s3://bucket`` (``gs://bucket`` …) with its key;
an http(s) URL is ``https://host[:port]`` with its path (the query, which may hold a signature, and
any credentials are left out); a Clipwise asset id is the Clipwise API's origin with the id.

Nothing here reads a file, a connection or an API: the names come from values the task already
holds, so lineage never slows or fails a task. Nothing imports OpenLineage before the listener calls
the method, which it only does where OpenLineage is installed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from airflow.providers.common.compat.openlineage.facet import RunFacet
    from airflow.providers.openlineage.extractors import OperatorLineage

#: the key of the run facet in an event's ``run.facets``
RUN_FACET_KEY = "clipgenJob"
#: the JSON schema of that facet (``docs/schemas/ClipgenJobRunFacet.json`` in this repository)
RUN_FACET_SCHEMA_URL = (
    "https://raw.githubusercontent.com/clipgen/airflow-provider-clipgen/main/docs/schemas/"
    "ClipgenJobRunFacet.json#/$defs/ClipgenJobRunFacet"
)
#: result keys that hold a job's id, for each kind of job
JOB_ID_KEYS = ("request_id", "generation_id", "extract_task_id")

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")

#: ``(namespace, name)`` of a dataset
DatasetName = tuple[str, str]


class JobLineageMixin:
    """Gives a task that waits for one Clipia or Clipwise job its OpenLineage facets.

    The job flow sets :attr:`lineage_result` where it hands the result on, in the process that then
    reports the task's end to OpenLineage's listener.
    """

    #: the value this try handed on (its XCom), set by the job flow; None until then
    lineage_result: Any = None

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        """The files and assets this try read, the media it made or stored, and the job's run facet."""
        return job_lineage(self)


def job_lineage(task: Any) -> OperatorLineage:
    """:class:`OperatorLineage` of ``task`` (a ``ClipgenJobOperator`` or ``ClipgenJobSensor``)."""
    from airflow.providers.common.compat.openlineage.facet import InputDataset, OutputDataset
    from airflow.providers.openlineage.extractors import OperatorLineage

    result = task.lineage_result if isinstance(task.lineage_result, Mapping) else {}
    return OperatorLineage(
        inputs=[InputDataset(namespace, name) for namespace, name in _unique(read_datasets(task))],
        outputs=[OutputDataset(namespace, name) for namespace, name in _unique(made_datasets(result))],
        run_facets={RUN_FACET_KEY: run_facet(task, result)},
    )


# -- naming -----------------------------------------------------------------------------------------
def url_dataset(url: str) -> DatasetName:
    """The dataset a URL names: ``scheme://authority`` and the key (object stores) or the path
    (http(s)); a URL with no authority (``file:///data/a.png``) is namespace ``scheme`` with its path.
    Credentials or a connection id before ``@`` and the query are left out.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    authority = parts.netloc.rsplit("@", 1)[-1]
    if scheme in ("http", "https"):
        return f"{scheme}://{authority}", parts.path or "/"
    if not authority:
        return ("file" if scheme == "local" else scheme), parts.path
    return f"{scheme}://{authority}", parts.path.lstrip("/") or "/"


def local_dataset(path: str | os.PathLike[str]) -> DatasetName:
    """A local file: namespace ``file``, name its absolute path (``~`` expanded)."""
    return "file", str(Path(path).expanduser().absolute())


def file_dataset(value: Any) -> DatasetName | None:
    """The dataset a file value names (a path, a URL, an ``ObjectStoragePath``); None for a bare word
    that is no existing file and has no path separator (an id, such as Clipwise's ``upl_…``).
    """
    from clipgen_provider.file_inputs import is_storage_path

    if is_storage_path(value):
        return url_dataset(str(value)) if value.protocol else local_dataset(str(value))
    if isinstance(value, os.PathLike):
        return local_dataset(value)
    if not isinstance(value, str) or not value.strip():
        return None
    if _SCHEME.match(value):
        return url_dataset(value)
    if os.sep in value or Path(value).expanduser().exists():
        return local_dataset(value)
    return None


def _items(value: Any) -> list[Any]:
    """A list parameter's items; a lone value as a list of one."""
    from clipgen_provider.file_inputs import is_file_list

    return list(value) if is_file_list(value) else [value]


def _unique(names: Iterator[DatasetName]) -> list[DatasetName]:
    return list(dict.fromkeys(names))


# -- what a task read ---------------------------------------------------------------------------------
def read_datasets(task: Any) -> Iterator[DatasetName]:
    """The files and assets ``task`` handed to its job, from its rendered templated fields."""
    from clipgen_provider.operators.clipia import ClipiaGenerateOperator
    from clipgen_provider.operators.clipwise import ClipwiseExtractUrlOperator, ClipwiseGenerateOperator

    if isinstance(task, ClipiaGenerateOperator):
        yield from clipia_inputs(task.inputs)
    elif isinstance(task, ClipwiseGenerateOperator):
        yield from clipwise_inputs(task.format, task.inputs, api_origin(task))
    elif isinstance(task, ClipwiseExtractUrlOperator) and isinstance(task.url, str):
        yield url_dataset(task.url)


def clipia_inputs(inputs: Any) -> Iterator[DatasetName]:
    """Clipia's media inputs (``*_url`` / ``*_urls``, path objects): the URLs and files they name."""
    from clipgen_provider.file_inputs import is_media_url_input

    if not isinstance(inputs, Mapping):
        return
    for param, value in inputs.items():
        if value is None or not is_media_url_input(param, value):
            continue
        for item in _items(value):
            if (name := file_dataset(item)) is not None:
                yield name


def clipwise_inputs(format: Any, inputs: Any, origin: str | None) -> Iterator[DatasetName]:
    """Clipwise's file parameters: the files and URLs they name, and the asset ids (named in the
    namespace ``origin`` of the API that holds them; left out when it is unknown).
    """
    from clipgen_provider.file_inputs import is_asset_id
    from clipgen_provider.hooks.clipwise_uploads import LIST_FILE_PARAMS, upload_target

    if not isinstance(inputs, Mapping) or not isinstance(format, str):
        return
    for param, value in inputs.items():
        if value is None or upload_target(format, param) is None:
            continue
        if param in LIST_FILE_PARAMS and isinstance(value, str) and "," in value:
            items: list[Any] = value.split(",")  # ids joined by commas, as the API takes a list
        else:
            items = _items(value)
        for item in items:
            if (name := file_dataset(item)) is not None:
                yield name
            elif origin and isinstance(item, str) and is_asset_id(item.strip()):
                yield origin, item.strip()


def api_origin(task: Any) -> str | None:
    """``scheme://host[:port]`` of the API the task's hook talked to in this process; None when it
    never connected here (lineage reads no connection).
    """
    transport = getattr(vars(task).get("hook"), "_transport", None)
    if transport is None:
        return None
    parts = urlsplit(str(transport.base_url))
    return f"{parts.scheme}://{parts.netloc}"


# -- what a task made -----------------------------------------------------------------------------
def made_datasets(result: Mapping[str, Any]) -> Iterator[DatasetName]:
    """The job's media (``media_urls``) and their stored copies (``stored_paths``)."""
    for key in ("media_urls", "stored_paths"):
        for item in result.get(key) or []:
            if (name := file_dataset(item)) is not None:
                yield name


# -- the run facet --------------------------------------------------------------------------------
def run_facet(task: Any, result: Mapping[str, Any]) -> RunFacet:
    """The ``clipgenJob`` facet: the job's id, API, model or format, cost and status, as far as known
    (a failed try handed nothing on: then the id only for a sensor, and no cost or status).
    """
    from clipgen_provider.sensors._job import ClipgenJobSensor

    job_id = next((result[key] for key in JOB_ID_KEYS if result.get(key)), None)
    if isinstance(task, ClipgenJobSensor):
        job_id, asked = job_id or task.job_id, {}  # a sensor knows its job from the start
    else:
        asked = task.requested()
    facet_class: Any = run_facet_class()  # a class made at run time: its fields are unknown to mypy
    return facet_class(
        jobId=None if job_id is None else str(job_id),
        api=str(task.hook.api_name).lower(),
        model=result.get("model") or asked.get("model"),
        format=result.get("format") or asked.get("format"),
        cost=result.get("cost"),
        status=result.get("status"),
    )


@cache
def run_facet_class() -> type[RunFacet]:
    """``ClipgenJobRunFacet``, a custom OpenLineage ``RunFacet``: defined on first use, because its
    base class exists only where OpenLineage is installed.
    """
    import attr
    from airflow.providers.common.compat.openlineage.facet import RunFacet

    @attr.define(kw_only=True)
    class ClipgenJobRunFacet(RunFacet):
        """The Clipia request or Clipwise generation a task ran or waited for."""

        #: ``request_id`` (Clipia), ``generation_id`` or ``extract_task_id`` (Clipwise)
        jobId: str | None = None  # camelCase, as OpenLineage facet fields are
        #: ``clipia`` or ``clipwise``
        api: str
        #: the Clipia model slug
        model: str | None = None
        #: the Clipwise format or tool slug
        format: str | None = None
        #: credits charged (Clipia; Clipwise reports no price)
        cost: float | None = None
        #: the job's status as the API says it (``COMPLETED``, ``completed``, ``submitted`` …)
        status: str | None = None

        @staticmethod
        def _get_schema() -> str:
            return RUN_FACET_SCHEMA_URL

    return ClipgenJobRunFacet
