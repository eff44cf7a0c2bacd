"""OpenLineage facets of the generate operators and job sensors (``clipgen_provider.lineage``), one
function at a time. The events a real run emits are checked in ``tests/scenarios/test_lineage.py``."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from airflow.sdk import ObjectStoragePath
from openlineage.client.serde import Serde

from clipgen_provider.lineage import (
    RUN_FACET_KEY,
    RUN_FACET_SCHEMA_URL,
    clipia_inputs,
    file_dataset,
    run_facet_class,
    url_dataset,
)
from clipgen_provider.operators.clipia import ClipiaGenerateOperator
from clipgen_provider.operators.clipwise import ClipwiseExtractUrlOperator, ClipwiseGenerateOperator
from clipgen_provider.sensors.clipia import ClipiaRequestSensor
from clipgen_provider.sensors.clipwise import ClipwiseGenerationSensor

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "docs" / "schemas" / "ClipgenJobRunFacet.json"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("s3://aws_default@media-bucket/shots/a.png", ("s3://media-bucket", "shots/a.png")),
        ("gs://bucket/renders/2026-01-01/clip.mp4", ("gs://bucket", "renders/2026-01-01/clip.mp4")),
        ("file:///data/media/a.png", ("file", "/data/media/a.png")),
        (
            "https://user:secret@cdn.example.com:8443/media/a.png?X-Amz-Signature=abc",
            ("https://cdn.example.com:8443", "/media/a.png"),
        ),
        ("http://127.0.0.1:8765/media/req_1/0.png", ("http://127.0.0.1:8765", "/media/req_1/0.png")),
    ],
    ids=["s3 with conn id", "gs", "file", "https signed with credentials", "http loopback"],
)
def test_urls_are_named_as_the_openlineage_naming_spec_names_files(
    url: str, expected: tuple[str, str]
) -> None:
    assert url_dataset(url) == expected


def test_paths_storage_paths_and_ids_are_told_apart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shot.png").write_bytes(b"x")
    assert file_dataset(ObjectStoragePath(f"file://{tmp_path}/a.png")) == ("file", f"{tmp_path}/a.png")
    assert file_dataset(tmp_path / "b.png") == ("file", f"{tmp_path}/b.png")
    assert file_dataset("shot.png") == ("file", f"{tmp_path}/shot.png")  # relative, existing
    assert file_dataset("renders/clip.mp4") == ("file", f"{tmp_path}/renders/clip.mp4")
    assert file_dataset("upl_3f9c") is None  # an id, not a file
    assert file_dataset("") is None
    assert file_dataset(42) is None


def test_clipia_inputs_are_its_media_inputs_only() -> None:
    inputs = {
        "prompt": "https://not-a-media-input.example.com/prompt.txt",
        "image_url": "https://cdn.example.com/a.png?sig=1",
        "reference_urls": ["s3://bucket/ref/1.png", "file:///data/ref/2.png"],
        "audio_url": None,
        "seed": 7,
    }
    assert list(clipia_inputs(inputs)) == [
        ("https://cdn.example.com", "/a.png"),
        ("s3://bucket", "ref/1.png"),
        ("file", "/data/ref/2.png"),
    ]


def clipwise_generate(**inputs: Any) -> ClipwiseGenerateOperator:
    return ClipwiseGenerateOperator(task_id="render", format="ugc_video", script="s", inputs=inputs)


def test_clipwise_inputs_name_files_urls_and_the_asset_ids_of_the_api_it_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_CLIPWISE_DEFAULT",
        json.dumps({"conn_type": "clipwise", "host": "https://clipwise.example.com", "password": "cw_k"}),
    )
    op = clipwise_generate(
        product_images=["file:///data/shots/a.png", "upl_prod_2"],
        video="https://cdn.example.com/in.mp4",
        images="upl_1,upl_2",
        avatar="res_avatar_ava",  # a resource id, but no file parameter: not a file input
        voice="res_voice_emma_en",
    )
    op.hook.get_conn()  # the hook talked to the API in this process, as it has once a job ran

    lineage = op.get_openlineage_facets_on_complete(None)

    assert [(d.namespace, d.name) for d in lineage.inputs] == [
        ("file", "/data/shots/a.png"),
        ("https://clipwise.example.com", "upl_prod_2"),
        ("https://cdn.example.com", "/in.mp4"),
        ("https://clipwise.example.com", "upl_1"),
        ("https://clipwise.example.com", "upl_2"),
    ]


def test_asset_ids_are_left_out_rather_than_reading_a_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_CLIPWISE_DEFAULT", raising=False)  # a lookup would fail
    op = clipwise_generate(product_images=["upl_prod_2", "s3://bucket/p.png"])

    lineage = op.get_openlineage_facets_on_complete(None)

    assert [(d.namespace, d.name) for d in lineage.inputs] == [("s3://bucket", "p.png")]


def facet_json(lineage: Any) -> dict[str, Any]:
    """The ``clipgenJob`` run facet as the event carries it."""
    return dict(Serde.to_dict(lineage.run_facets[RUN_FACET_KEY]))


def job_fields(lineage: Any) -> dict[str, Any]:
    """The facet's own fields (its ``_producer`` and ``_schemaURL`` left out)."""
    return {key: value for key, value in facet_json(lineage).items() if not key.startswith("_")}


def test_a_finished_job_reports_its_media_its_stored_files_and_a_facet_valid_by_the_documented_schema() -> (
    None
):
    op = ClipiaGenerateOperator(
        task_id="poster",
        model="nano-banana-2",
        inputs={"prompt": "x", "image_url": "https://cdn.example.com/ref.png"},
    )
    op.lineage_result = {
        "request_id": "req_1",
        "status": "COMPLETED",
        "model": "nano-banana-2",
        "cost": 4,
        "media_urls": ["https://media.clipia.ai/req_1/0.png?token=t", "https://media.clipia.ai/req_1/0.png"],
        "stored_paths": ["file:///data/posters/req_1-0.png", "s3://aws_default@bucket/posters/req_1-0.png"],
    }

    lineage = op.get_openlineage_facets_on_complete(None)

    assert [(d.namespace, d.name) for d in lineage.inputs] == [("https://cdn.example.com", "/ref.png")]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [  # the same file named once
        ("https://media.clipia.ai", "/req_1/0.png"),
        ("file", "/data/posters/req_1-0.png"),
        ("s3://bucket", "posters/req_1-0.png"),
    ]
    facet = facet_json(lineage)
    assert facet["_schemaURL"] == RUN_FACET_SCHEMA_URL
    assert job_fields(lineage) == {
        "jobId": "req_1",
        "api": "clipia",
        "model": "nano-banana-2",
        "cost": 4,
        "status": "COMPLETED",
    }
    ours = json.loads(SCHEMA.read_text())["$defs"]["ClipgenJobRunFacet"]["allOf"][1]
    jsonschema.validate(facet, ours)
    fields = {field.name for field in run_facet_class().__attrs_attrs__ if not field.name.startswith("_")}
    assert set(ours["properties"]) == fields  # the documented schema is the facet's


def test_submit_only_reports_the_job_and_what_was_asked() -> None:
    op = ClipwiseGenerateOperator(task_id="t", format="smart", prompt="x", wait_for_completion=False)
    op.lineage_result = {"generation_id": "gen_1", "status": "submitted", "format": "smart"}

    lineage = op.get_openlineage_facets_on_complete(None)

    assert lineage.outputs == []
    assert job_fields(lineage) == {
        "jobId": "gen_1",
        "api": "clipwise",
        "format": "smart",
        "status": "submitted",
    }


def test_a_failed_try_reports_what_it_read_and_what_it_knows_of_the_job() -> None:
    op = ClipiaGenerateOperator(
        task_id="t", model="seedance-2-fast-i2v", inputs={"image_url": "s3://bucket/first-frame.png"}
    )
    operator_lineage = op.get_openlineage_facets_on_complete(None)  # nothing handed on
    sensor = ClipwiseGenerationSensor(task_id="s", generation_id="gen_7")
    sensor_lineage = sensor.get_openlineage_facets_on_complete(None)

    assert [(d.namespace, d.name) for d in operator_lineage.inputs] == [("s3://bucket", "first-frame.png")]
    assert operator_lineage.outputs == []
    assert job_fields(operator_lineage) == {"api": "clipia", "model": "seedance-2-fast-i2v"}
    assert (sensor_lineage.inputs, sensor_lineage.outputs) == ([], [])
    assert job_fields(sensor_lineage) == {"jobId": "gen_7", "api": "clipwise"}


def test_a_sensor_that_kept_the_media_reports_it_as_outputs() -> None:
    sensor = ClipiaRequestSensor(task_id="collect", request_id="req_2")
    sensor.lineage_result = {
        "request_id": "req_2",
        "status": "COMPLETED",
        "model": "nano-banana-2",
        "cost": 4,
        "media_urls": ["https://media.clipia.ai/req_2/0.png"],
        "stored_paths": ["file:///data/collected/req_2-0.png"],
    }

    lineage = sensor.get_openlineage_facets_on_complete(None)

    assert lineage.inputs == []
    assert [(d.namespace, d.name) for d in lineage.outputs] == [
        ("https://media.clipia.ai", "/req_2/0.png"),
        ("file", "/data/collected/req_2-0.png"),
    ]
    assert job_fields(lineage)["jobId"] == "req_2"


def test_a_url_extraction_reads_the_link_and_makes_the_video() -> None:
    op = ClipwiseExtractUrlOperator(task_id="x", url="https://www.tiktok.com/@brand/video/1?is_from_webapp=1")
    op.lineage_result = {
        "extract_task_id": "ext_1",
        "source_url": "https://www.tiktok.com/@brand/video/1",
        "video_url": "https://cdn.clipwise.ai/extract/ext_1.mp4",
        "media_urls": ["https://cdn.clipwise.ai/extract/ext_1.mp4"],
    }

    lineage = op.get_openlineage_facets_on_complete(None)

    assert [(d.namespace, d.name) for d in lineage.inputs] == [("https://www.tiktok.com", "/@brand/video/1")]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [
        ("https://cdn.clipwise.ai", "/extract/ext_1.mp4")
    ]
    assert job_fields(lineage) == {"jobId": "ext_1", "api": "clipwise"}


IMPORT_OPERATORS = """
from clipgen_provider.operators.clipia import ClipiaGenerateOperator
from clipgen_provider.operators.clipwise import ClipwiseExtractUrlOperator, ClipwiseGenerateOperator
from clipgen_provider.sensors.clipia import ClipiaRequestSensor
from clipgen_provider.sensors.clipwise import ClipwiseGenerationSensor

ClipiaGenerateOperator(task_id="a", model="m", inputs={"prompt": "x"})
ClipwiseGenerateOperator(task_id="b", format="smart", prompt="x")
ClipiaRequestSensor(task_id="c", request_id="req_1")
ClipwiseGenerationSensor(task_id="d", generation_id="gen_1")
"""
#: modules Airflow's own provider discovery imports from every installed provider package
DISCOVERY = {"airflow.providers.openlineage", "airflow.providers.openlineage.get_provider_info"}


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120, cwd=REPO
    )


def test_importing_the_operators_and_sensors_imports_no_openlineage() -> None:
    result = run_python(
        IMPORT_OPERATORS
        + "import json, sys\nprint(json.dumps([m for m in sys.modules if 'openlineage' in m.split('.')]))\n"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = set(json.loads(result.stdout.strip().splitlines()[-1]))
    assert loaded <= DISCOVERY, loaded  # no OpenLineage client, no listener, no facets
