"""Every output is a valid input: files handed from task to task, against the real sandbox.

The stores are real: local folders, Airflow's ``memory://``, and S3 served on loopback by moto's
server mode, reached through the Amazon provider's filesystem and an Airflow connection (what a
deployment does). Each test asserts what landed in the sandbox: the uploaded bytes (their SHA-256
and size as the sandbox recorded them) and, when an input is refused, that the sandbox's call log
shows nothing at all from that key.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from airflow.sdk import ObjectStoragePath

from clipgen_provider.hooks.clipia import ClipiaHook
from clipgen_provider.hooks.clipwise import ClipwiseHook, extract_id
from clipgen_provider.media import as_storage_path
from clipgen_provider.sandbox.server import SandboxServer
from tests.airflow_compat import HAS_TASK_STATE_STORE
from tests.conftest import REPO
from tests.file_stores import SIGNING_PROTOCOL, attach_signing_store, pattern_sha256
from tests.integration.dagrun import run_dag
from tests.integration.test_clipia_operators import usage

pytestmark = pytest.mark.usefixtures("airflow_db")

BUCKET = "clipgen-media"
CLIPWISE_API = "/api/sdk/v1"
I2V_SUBMIT = "/v1/models/seedance-2-fast-i2v"
GIB = 1024**3


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """An S3-compatible store on a free loopback port (moto's server mode) with one bucket."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        ).create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        server.stop()


@pytest.fixture
def s3_folder(monkeypatch: pytest.MonkeyPatch, s3_endpoint: str) -> str:
    """A fresh folder on the loopback S3, as a URL naming its Airflow connection (``s3://conn@bucket/…``).

    The connection id is new for every test: Airflow caches a store's filesystem per connection id.
    """
    conn_id = f"moto_s3_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}",
        json.dumps(
            {
                "conn_type": "aws",
                "login": "testing",
                "password": "testing",
                "extra": {"endpoint_url": s3_endpoint, "region_name": "us-east-1"},
            }
        ),
    )
    return f"s3://{conn_id}@{BUCKET}/{uuid.uuid4().hex}"


def write(url: str, content: bytes) -> str:
    """Write ``content`` at ``url`` (any store Airflow can open); return the URL."""
    path = as_storage_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return url


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def uploads() -> list[dict[str, Any]]:
    """What this test's token uploaded (not the shared catalog): id, filename, size and SHA-256."""
    return [item for item in ClipwiseHook().iter_uploads() if item["source_kind"] == "uploaded"]


def clipia_media_url(sandbox: SandboxServer) -> str:
    """The first ``media_urls`` entry of a finished Clipia image generation (a real sandbox job)."""
    from clipgen_provider.hooks.clipia import result_summary

    hook = ClipiaHook()
    request_id = hook.submit("nano-banana-2", {"prompt": "a mug"})["request_id"]
    deadline = time.monotonic() + 30
    while (result := hook.get_result(request_id))["status"] != "COMPLETED":
        assert time.monotonic() < deadline, result
        time.sleep(0.1)
    return str(result_summary(result)["media_urls"][0])


# -- one upload per kind of file ------------------------------------------------------------------------
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40


def _kinds(tmp: Path, s3_folder: str, sandbox: SandboxServer) -> dict[str, tuple[Any, str, bytes]]:
    """Each way a file can be named: ``(value, file name, bytes)``."""
    local = tmp / "local shot.png"
    local.write_bytes(PNG)
    memory = write(f"memory://inputs/{uuid.uuid4().hex}/memory.png", PNG + b"m")
    s3 = write(f"{s3_folder}/s3.png", PNG + b"s3")
    conn_id, key = s3.removeprefix("s3://").split("@", 1)
    media_url = clipia_media_url(sandbox)
    return {
        "local path": (str(local), "local shot.png", PNG),
        "pathlib.Path": (local, "local shot.png", PNG),
        "file:// URL": (f"file://{local}", "local shot.png", PNG),
        "ObjectStoragePath, file": (ObjectStoragePath(f"file://{local}"), "local shot.png", PNG),
        "memory:// URL": (memory, "memory.png", PNG + b"m"),
        "s3:// URL with its connection": (s3, "s3.png", PNG + b"s3"),
        "ObjectStoragePath, s3": (ObjectStoragePath(f"s3://{key}", conn_id=conn_id), "s3.png", PNG + b"s3"),
        "stored_paths, a list of one": ([s3], "s3.png", PNG + b"s3"),
        "http(s) media URL": (media_url, media_url.rsplit("/", 1)[1], httpx.get(media_url).content),
    }


@pytest.mark.usefixtures("clipia_conn")
def test_every_kind_of_file_is_uploaded_with_its_exact_bytes(
    sandbox: SandboxServer, clipwise_conn: str, s3_folder: str, tmp_path: Path
) -> None:
    hook = ClipwiseHook()
    for kind, (value, name, content) in _kinds(tmp_path, s3_folder, sandbox).items():
        upload_id = extract_id(hook.upload_file(value, "image"))
        record = hook.get_resource("generic_uploads", str(upload_id))
        assert (record["filename"], record["file_size"], record["sha256"]) == (
            name,
            len(content),
            sha256(content),
        ), kind


# -- hand-offs in a DAG -------------------------------------------------------------------------------
@pytest.mark.usefixtures("clipia_conn")
@pytest.mark.parametrize("store", ["s3", "local folder"])
def test_stored_paths_and_media_urls_are_handed_on_as_they_are(
    sandbox: SandboxServer, clipia_key: str, clipwise_conn: str, s3_folder: str, tmp_path: Path, store: str
) -> None:
    out = s3_folder if store == "s3" else f"file://{tmp_path}/media"
    outcome = run_dag("file_inputs_handoff", out=out)

    image = outcome.value("image")
    (stored,) = image["stored_paths"]
    assert stored.startswith(f"{out}/")
    content = as_storage_path(stored).read_bytes()
    assert content == httpx.get(image["media_urls"][0]).content
    for task in ("animate_stored", "animate_media_url", "upload_stored"):
        assert outcome.task_states[task] == "success", (task, outcome.task_states)
    assert outcome.value("animate_stored")["status"] == "completed"
    # three uploads (the stored file twice, the downloaded media URL once), all of the same bytes
    landed = uploads()
    assert sorted(item["filename"] for item in landed) == sorted(
        [stored.rsplit("/", 1)[1]] * 2 + [image["media_urls"][0].rsplit("/", 1)[1]]
    )
    assert {(item["sha256"], item["file_size"]) for item in landed} == {(sha256(content), len(content))}
    assert outcome.value("upload_stored") in {item["id"] for item in landed}

    i2v_submits = sandbox.calls(api_key=clipia_key, method="POST", path=I2V_SUBMIT)
    if store == "s3":  # a store that signs: Clipia got a signed URL, and it serves the stored bytes
        assert outcome.task_states["i2v"] == "success"
        assert outcome.value("i2v")["status"] == "COMPLETED"
        assert [call["status"] for call in i2v_submits if call["path"] == I2V_SUBMIT] == [200]
        assert len(i2v_submits) == 2, "one estimate (max_credits), one submit"
    else:  # a local file cannot be fetched by Clipia: refused before the estimate, no retry
        assert (outcome.task_states["i2v"], outcome.tries["i2v"]) == ("failed", 1)
        assert i2v_submits == []


@pytest.mark.usefixtures("clipia_conn")
def test_task_output_stored_paths_hands_the_list_on_without_native_rendering(
    clipwise_conn: str, tmp_path: Path
) -> None:
    outcome = run_dag("file_inputs_handoff_xcomarg", out=f"file://{tmp_path}/media")

    assert set(outcome.task_states.values()) == {"success"}, outcome.task_states
    stored = [outcome.mapped_xcoms[("images", "stored_paths", index)] for index in (0, 1)]
    assert all(len(paths) == 1 for paths in stored)
    landed = {item["id"]: item for item in uploads()}
    for index, (path,) in enumerate(stored):
        upload = landed[outcome.mapped_xcoms[("upload_each", "return_value", index)]]
        content = as_storage_path(path).read_bytes()
        assert (upload["filename"], upload["sha256"]) == (path.rsplit("/", 1)[1], sha256(content))
    assert outcome.value("animate")["status"] == "completed"


@pytest.mark.usefixtures("clipia_conn")
def test_a_signed_url_is_one_clipia_can_fetch(s3_folder: str) -> None:
    from clipgen_provider.file_inputs import public_inputs

    stored = write(f"{s3_folder}/frame.png", PNG)
    url = public_inputs({"image_url": stored}).inputs["image_url"]
    assert url.startswith("http://127.0.0.1:")
    assert httpx.get(url).content == PNG
    estimate = ClipiaHook().estimate("seedance-2-fast-i2v", {"image_url": url})
    assert estimate["credits"] > 0
    assert estimate["warnings"] == []


# -- refusals -----------------------------------------------------------------------------------------
@pytest.mark.usefixtures("clipia_conn")
def test_what_cannot_be_used_fails_at_once_and_nothing_is_sent(
    sandbox: SandboxServer, clipia_key: str, clipwise_conn: str, tmp_path: Path
) -> None:
    local = tmp_path / "frame.png"
    local.write_bytes(PNG)
    outcome = run_dag(
        "file_inputs_refused",
        missing=f"file://{tmp_path}/nope.png",
        not_a_file="my photo",
        local=str(local),
        unsignable=write(f"memory://inputs/{uuid.uuid4().hex}/frame.png", PNG),
    )
    for task in ("animate_missing", "upload_not_a_file", "i2v_local", "i2v_unsignable"):
        assert (outcome.task_states[task], outcome.tries[task]) == ("failed", 1), task
    assert sandbox.calls(api_key=clipwise_conn) == [], "not even the format catalog was read"
    assert sandbox.calls(api_key=clipia_key) == [], "no estimate, no submit"
    assert usage(sandbox, clipia_key) == {"requests": 0, "credits_spent": 0}


# -- money: a resubmit sends the signed URL it first sent ---------------------------------------------------
@pytest.mark.usefixtures("clipia_conn")
def test_a_resubmit_after_a_lost_answer_sends_the_same_signed_url_and_charges_once(
    sandbox: SandboxServer, clipia_key: str
) -> None:
    """Try 1's submit creates the job, then every answer is lost (5xx after the server acted); try 2
    resubmits with the recorded key. The store signs a different URL every time (as a real one does
    from one second to the next), so only the recorded input keeps the body the key was first used
    with: Clipia returns the same request (no 409, no try-scoped key, one charge).

    Airflow 3.1 and 3.2 have no ``task_state_store`` to record it in: try 2 signs afresh, Clipia
    refuses the key with the new body (409), and try 2 submits with its try-scoped key. Try 1's
    request runs on: two requests, two charges, as docs/compatibility.md warns (an http(s) URL
    input avoids it)."""
    attach_signing_store()
    image = write(f"{SIGNING_PROTOCOL}://bucket/{uuid.uuid4().hex}/frame.png", PNG)
    sandbox.add_fault(
        method="POST", path=I2V_SUBMIT, api_key=clipia_key, status=503, after_handler=True, times=5
    )
    outcome = run_dag("file_inputs_signed_resubmit", image=image)
    assert outcome.state == "success", outcome.task_states
    assert outcome.tries["i2v"] == 2
    submits = sandbox.calls(api_key=clipia_key, method="POST", path=I2V_SUBMIT)
    key = submits[0]["idempotency_key"]
    if HAS_TASK_STATE_STORE:
        assert [(call["status"], call["idempotency_key"]) for call in submits] == [(503, key)] * 5 + [
            (200, key)
        ]
        assert usage(sandbox, clipia_key)["requests"] == 1
    else:
        assert [(call["status"], call["idempotency_key"]) for call in submits] == [(503, key)] * 5 + [
            (409, key),
            (200, f"{key}:try2"),
        ]
        assert usage(sandbox, clipia_key)["requests"] == 2
    assert outcome.value("i2v")["status"] == "COMPLETED"


# -- memory: a 1 GiB object-store file streams through -------------------------------------------------------
def test_a_1_gib_object_store_file_is_uploaded_in_flat_memory(
    sandbox: SandboxServer, clipwise_conn: str
) -> None:
    """A subprocess uploads a 1 GiB ``pattern://`` file (bytes made up on the fly, no disk behind
    them) to the sandbox; its peak RSS grows by a small fraction of the file, and the sandbox holds
    exactly those bytes."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.integration.upload_rss", str(GIB)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    hook = ClipwiseHook()
    try:
        record = hook.get_resource("generic_uploads", report["id"])
        assert (record["file_size"], record["sha256"]) == (GIB, pattern_sha256(GIB))
        assert report["rss_after"] - report["rss_before"] < 64 * 1024**2, report
    finally:
        hook.delete_upload(report["id"])  # the sandbox keeps the GiB on disk until then
