"""What a file input names, for both APIs: ids, http(s) URLs, local and stored files, and refusals.

One function at a time; HTTP only through respx. The stores are ``file://``, ``memory://`` and
``signedmem://`` (an in-memory store that can sign URLs, :mod:`tests.file_stores`).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from airflow.providers.common.compat.sdk import AirflowFailException, TaskDeferred
from airflow.sdk import ObjectStoragePath

from clipgen_provider.exceptions import ClipgenConfigError
from clipgen_provider.file_inputs import (
    CLIPIA_ACCEPTS,
    CLIPWISE_ACCEPTS,
    AssetId,
    HttpUrl,
    StoredFile,
    locate,
    public_inputs,
    readable_file,
)
from clipgen_provider.hooks.clipwise import ClipwiseHook
from clipgen_provider.hooks.clipwise_uploads import UploadPlan, UploadTarget
from clipgen_provider.media import as_storage_path
from clipgen_provider.operators.clipia import ClipiaEstimateOperator, ClipiaGenerateOperator
from clipgen_provider.operators.clipwise import ClipwiseGenerateOperator, ClipwiseUploadOperator
from tests.file_stores import SIGNING_PROTOCOL, attach_signing_store
from tests.unit.test_clipwise_operators import FakeStore, make_context

CLIPWISE = "https://app.clipwise.ai/api/sdk/v1"
CLIPIA = "https://api.clipia.ai"
CDN = "https://cdn.example.com"


def stored(url: str, content: bytes = b"\x89PNG-bytes") -> str:
    """Write ``content`` at ``url`` (any store Airflow can open); return the URL as Airflow spells
    it (``stored_paths`` form: Airflow 3.1 writes ``memory:///x`` for ``memory://x``)."""
    path = as_storage_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return str(path)


@pytest.fixture
def memory_png() -> str:
    return stored(f"memory://inputs/{uuid.uuid4().hex}/shot.png")


@pytest.fixture
def signing_png() -> str:
    attach_signing_store()
    return stored(f"{SIGNING_PROTOCOL}://bucket/{uuid.uuid4().hex}/shot.png")


@pytest.fixture
def local_png(tmp_path: Path) -> Path:
    path = tmp_path / "shot.png"
    path.write_bytes(b"\x89PNG-local")
    return path


def refusal(param: str, value: Any, accepts: str = CLIPWISE_ACCEPTS) -> str:
    """The message of the error refusing ``value`` for ``param``."""
    with pytest.raises(ClipgenConfigError) as info:
        locate(param, value, accepts)
    message = str(info.value)
    assert message.startswith(f"{param}: ")
    assert message.endswith(f"Pass {accepts}. Nothing was sent.")
    return message


# -- what a value names -------------------------------------------------------------------------------
def test_a_local_path_in_every_spelling_is_the_same_stored_file(
    local_png: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(local_png.parent))
    spellings = [
        str(local_png),
        local_png,
        f"file://{local_png}",
        "~/shot.png",
        ObjectStoragePath(f"file://{local_png}"),
        ObjectStoragePath(str(local_png)),  # no scheme: a local path
    ]
    for value in spellings:
        located = locate("image", value, CLIPWISE_ACCEPTS)
        assert isinstance(located, StoredFile), value
        assert (located.key, located.name, located.protocol) == (f"file://{local_png}", "shot.png", "file")
        with located.open() as handle:
            assert handle.read() == b"\x89PNG-local"


def test_an_object_store_url_and_its_path_object_name_the_stored_file(memory_png: str) -> None:
    for value in (memory_png, ObjectStoragePath(memory_png)):
        located = locate("image", value, CLIPWISE_ACCEPTS)
        assert isinstance(located, StoredFile)
        assert (located.key, located.protocol) == (memory_png, "memory")
        with located.open() as handle:
            assert handle.read() == b"\x89PNG-bytes"


@pytest.mark.parametrize(
    "url", ["https://cdn.example.com/a/b.mp4?sig=s3cr3t", "http://127.0.0.1:9/media/x.png"]
)
def test_http_urls_are_urls(url: str) -> None:
    located = locate("video", url, CLIPWISE_ACCEPTS)
    assert located == HttpUrl(url)
    assert "s3cr3t" not in str(located), "the query (a signature) stays out of logs"


@pytest.mark.parametrize(
    "value", ["upl_3f9c1a2b4d5e6f70", "res_avatar_ava", "5fc8680d-d2c5-44fc-ae33-4816d8bdb54b", "v1.2", "a:b"]
)
def test_bare_words_are_ids(value: str) -> None:
    assert locate("image", value, CLIPWISE_ACCEPTS) == AssetId(value)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("clip.mp4", "no such file 'clip.mp4'"),  # a file name of a known type is never an id
        ("notes.txt", "no such file 'notes.txt'"),
        ("./recordings/x", "no such file './recordings/x'"),
        ("my photo", "no such file 'my photo'"),
        ("file:///no/such/shot.png", "no such file 'file:///no/such/shot.png'"),
        ("memory://nowhere/shot.png", "no such file 'memory://nowhere/shot.png'"),
        (Path("/no/such/shot.png"), "no such file '/no/such/shot.png'"),
        ("", "the value is empty"),
        ("None", "a template rendered a missing XCom"),
        ("['file:///tmp/a.png', 'file:///tmp/b.png']", "is a list rendered as text"),
        ("https:///only-a-path", "is a URL without a host"),
        (42, "expected a file or an id, got int 42"),
        ("gs://bucket/shot.png", "Airflow cannot open gs:// URLs"),
        ("nosuchscheme://bucket/shot.png", "Airflow cannot open nosuchscheme:// URLs"),
    ],
)
def test_what_names_nothing_usable_is_refused_with_what_to_pass(value: Any, problem: str) -> None:
    assert problem in refusal("image", value)


def test_a_directory_is_refused(tmp_path: Path, memory_png: str) -> None:
    assert f"'{tmp_path}' is a directory" in refusal("video", str(tmp_path))
    folder = memory_png.rsplit("/", 1)[0]
    assert f"'{folder}' is a directory" in refusal("video", folder)


def test_an_unknown_store_says_which_provider_serves_it() -> None:
    message = refusal("image", "gs://bucket/shot.png")
    assert "apache-airflow-providers-google for gs://" in message
    assert "airflow.sdk.io.store.attach" in message


# -- a file to send -----------------------------------------------------------------------------------
def test_a_list_of_one_is_that_file_and_a_longer_list_is_refused(memory_png: str) -> None:
    assert readable_file("file_path", [memory_png]).key == memory_png
    with pytest.raises(ClipgenConfigError, match=r"^file_path: takes one file, got a list of 2 items"):
        readable_file("file_path", [memory_png, memory_png])
    with pytest.raises(ClipgenConfigError, match=r"^file_path: takes one file, got an empty list"):
        readable_file("file_path", [])


def test_a_bare_word_is_no_file_to_send() -> None:
    with pytest.raises(ClipgenConfigError, match=r"^file_path: no such file 'upl_1'"):
        readable_file("file_path", "upl_1")


def test_an_http_url_is_downloaded_for_reading_and_the_copy_removed() -> None:
    with respx.mock(using="httpx") as router:
        router.get(f"{CDN}/media/clip.mp4").respond(200, content=b"MP4" * 1000)
        source = readable_file("file_path", f"{CDN}/media/clip.mp4")
        with source.open() as handle:
            copy = Path(handle.name)
            assert handle.read() == b"MP4" * 1000
    assert source.name == "clip.mp4"
    assert not copy.exists()


# -- Clipwise: the upload plan --------------------------------------------------------------------------
def test_every_kind_of_file_is_planned_and_ids_and_video_urls_pass(memory_png: str, local_png: Path) -> None:
    plan = UploadPlan.of(
        "ugc_video",
        {
            "image": [memory_png],  # stored_paths as it is
            "background_image": f"file://{local_png}",
            "product_images": ["res_prodimg_serum_front", f"{CDN}/p.png", ObjectStoragePath(memory_png)],
            "video": f"{CDN}/in.mp4",  # the API takes video URLs
            "avatar": "res_avatar_ava",
            "prompt": "file:///not/a/file/param.png",
        },
    )
    assert [(u.param, u.position, u.source.key, u.target) for u in plan.uploads] == [
        ("image", None, memory_png, UploadTarget("upload", "image")),
        ("background_image", None, f"file://{local_png}", UploadTarget("resource", "background_images")),
        ("product_images", 1, f"{CDN}/p.png", UploadTarget("resource", "product_images")),
        ("product_images", 2, memory_png, UploadTarget("resource", "product_images")),
    ]
    assert plan.params["image"] == memory_png
    assert plan.params["video"] == f"{CDN}/in.mp4"
    assert plan.params["prompt"] == "file:///not/a/file/param.png"

    uploaded: list[tuple[str, str]] = []

    def upload(target: UploadTarget, source: Any) -> str:
        uploaded.append((target.name, source.key))
        return f"id{len(uploaded)}"

    assert plan.run(upload) == {
        "image": "id1",
        "background_image": "id2",
        "product_images": ["res_prodimg_serum_front", "id3", "id4"],
        "video": f"{CDN}/in.mp4",
        "avatar": "res_avatar_ava",
        "prompt": "file:///not/a/file/param.png",
    }
    assert len(uploaded) == 4, "the same file for another target is uploaded for that target too"


def test_ids_joined_by_commas_pass_for_a_list_parameter_and_a_joined_file_name_does_not() -> None:
    assert UploadPlan.of("text_to_image", {"media_ids": "upl_1, upl_2"}).params == {
        "media_ids": "upl_1, upl_2"
    }
    with pytest.raises(ClipgenConfigError, match=r"^media_ids: no such file 'upl_1,shot.png'"):
        UploadPlan.of("text_to_image", {"media_ids": "upl_1,shot.png"})


def test_a_longer_list_for_a_single_file_parameter_is_refused_before_any_upload(memory_png: str) -> None:
    with pytest.raises(ClipgenConfigError, match=r"^image: takes one file, got a list of 2 items"):
        UploadPlan.of("image_to_video", {"image": [memory_png, memory_png], "prompt": "x"})


@pytest.mark.usefixtures("clipwise_conn")
def test_hook_uploads_an_object_store_file_and_a_downloaded_media_url(memory_png: str) -> None:
    with respx.mock(using="httpx", assert_all_called=True) as router:
        router.get(f"{CDN}/media/req_1-0.png").respond(200, content=b"clipia-image")
        ids = iter(["upl_1", "upl_2"])
        uploads = router.post(f"{CLIPWISE}/uploads/").mock(
            side_effect=lambda request: httpx.Response(201, json={"upload": {"id": next(ids)}})
        )
        create = router.post(f"{CLIPWISE}/generations/").respond(
            201, json={"id": "gen_1", "status": "queued"}
        )
        hook = ClipwiseHook()
        hook.get_conn().sleep = lambda seconds: None
        hook.create_generation(
            "text_to_image",
            prompt="x",
            media_ids=[memory_png, f"{CDN}/media/req_1-0.png"],
            idempotency_key="k",
        )
    bodies = [call.request.content for call in uploads.calls]
    assert b'filename="shot.png"' in bodies[0]
    assert b"\x89PNG-bytes" in bodies[0]
    assert b'filename="req_1-0.png"' in bodies[1]
    assert b"clipia-image" in bodies[1]
    assert json.loads(create.calls.last.request.content)["media_ids"] == ["upl_1", "upl_2"]


@pytest.fixture
def clipwise_conn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_CLIPWISE_DEFAULT",
        json.dumps({"conn_type": "clipwise", "host": "https://app.clipwise.ai", "password": "cw_test_x"}),
    )


@pytest.mark.usefixtures("clipwise_conn")
@pytest.mark.parametrize("image", ["file:///no/such/shot.png", "my photo.png", "None", ["upl_1", "upl_2"]])
def test_generate_operator_refuses_a_bad_file_before_any_call(image: Any) -> None:
    operator = ClipwiseGenerateOperator(
        task_id="t", format="image_to_video", prompt="p", inputs={"image": image}
    )
    with respx.mock(using="httpx", assert_all_called=False) as router:
        anything = router.route()
        with pytest.raises(AirflowFailException, match=r"^image: "):
            operator.execute(make_context())
    assert not anything.called, "not even the format catalog is read"


@pytest.mark.usefixtures("clipwise_conn")
def test_upload_operator_takes_a_stored_paths_list_of_one(memory_png: str) -> None:
    operator = ClipwiseUploadOperator(task_id="t", file_path=[memory_png])
    with respx.mock(using="httpx") as router:
        upload = router.post(f"{CLIPWISE}/uploads/").respond(201, json={"upload": {"id": "upl_9"}})
        assert operator.execute(make_context()) == "upl_9"
    assert b"\x89PNG-bytes" in upload.calls.last.request.content


# -- Clipia: public URLs --------------------------------------------------------------------------------
def test_http_urls_pass_and_a_signing_store_is_signed(signing_png: str) -> None:
    resolved = public_inputs(
        {
            "prompt": "keep file:///x.png as text",
            "image_url": [signing_png],
            "image_urls": [f"{CDN}/a.png", ObjectStoragePath(signing_png)],
            "mask_url": None,
            "reference": ObjectStoragePath(signing_png),  # a path object, whatever the name
        },
        expiration=600,
    )
    assert resolved.inputs["prompt"] == "keep file:///x.png as text"
    assert resolved.inputs["image_url"].startswith("https://signed.example.com/bucket/")
    assert "expires=600" in resolved.inputs["image_url"]
    assert resolved.inputs["image_urls"][0] == f"{CDN}/a.png"
    assert resolved.inputs["image_urls"][1].startswith("https://signed.example.com/")
    assert resolved.inputs["reference"].startswith("https://signed.example.com/")
    assert resolved.inputs["mask_url"] is None
    assert [label for label, _ in resolved.signed] == ["image_url", "image_urls[1]", "reference"]
    assert resolved.given["image_url"] == [signing_png]


def test_only_http_urls_means_nothing_signed() -> None:
    inputs = {"image_url": f"{CDN}/a.png", "prompt": "p"}
    resolved = public_inputs(inputs)
    assert (resolved.inputs, resolved.signed) == (inputs, ())


def clipia_refusal(value: Any, param: str = "image_url") -> str:
    with pytest.raises(ClipgenConfigError) as info:
        public_inputs({param: value, "prompt": "p"})
    message = str(info.value)
    assert message.startswith(param)
    assert message.endswith(f"{CLIPIA_ACCEPTS}. Nothing was sent.")
    return message


def test_clipia_refuses_what_it_cannot_fetch(local_png: Path, memory_png: str) -> None:
    assert "is a local file, and Clipia fetches its inputs over the internet" in clipia_refusal(
        str(local_png)
    )
    assert "is a local file" in clipia_refusal(f"file://{local_png}")
    assert "is on a memory:// store that cannot sign URLs" in clipia_refusal(memory_png)
    assert "'upl_1' is not a URL" in clipia_refusal("upl_1")
    assert "no such file" in clipia_refusal("/no/such.png")
    assert "takes one file, got a list of 2 items" in clipia_refusal([f"{CDN}/a.png", f"{CDN}/b.png"])
    assert clipia_refusal([memory_png], param="image_urls").startswith("image_urls[0]: ")


@pytest.fixture
def clipia_conn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_CLIPIA_DEFAULT",
        json.dumps({"conn_type": "clipia", "host": CLIPIA, "password": "clipia_test_x"}),
    )


def submit_bodies(operator: ClipiaGenerateOperator, context: Any) -> list[dict[str, Any]]:
    """Run ``operator`` to its deferral against a fake Clipia; return the estimate and submit bodies."""
    with respx.mock(using="httpx") as router:
        estimate = router.post(f"{CLIPIA}/v1/models/seedance-2-fast-i2v/estimate").respond(
            json={"credits": 10, "warnings": []}
        )
        submit = router.post(f"{CLIPIA}/v1/models/seedance-2-fast-i2v").respond(
            json={"request_id": "req_1", "status": "IN_QUEUE", "cost": 10, "warnings": []}
        )
        with pytest.raises(TaskDeferred):
            operator.execute(context)
    return [json.loads(route.calls.last.request.content) for route in (estimate, submit)]


@pytest.mark.usefixtures("clipia_conn")
def test_a_resubmit_of_the_same_key_sends_the_signed_url_it_first_sent(signing_png: str) -> None:
    """Try 1 records its key and dies before recording the request id; try 2 resubmits that key
    with the very same body, though signing again would give another URL."""

    def operator() -> ClipiaGenerateOperator:
        return ClipiaGenerateOperator(
            task_id="t",
            model="seedance-2-fast-i2v",
            inputs={"image_url": [signing_png]},
            max_credits=50,
            deferrable=True,
        )

    store = FakeStore()
    estimate, first = submit_bodies(operator(), make_context(store))
    assert estimate == first, "the budget is checked on the body that is submitted"
    store.values["clipia_request"]["job_id"] = None  # the crash: the request id never got recorded
    _, second = submit_bodies(operator(), make_context(store, try_number=2))
    assert second == first
    assert first["input"]["image_url"].startswith("https://signed.example.com/")
    assert public_inputs({"image_url": signing_png}).inputs["image_url"] != first["input"]["image_url"]


@pytest.mark.usefixtures("clipia_conn")
def test_clipia_refuses_a_local_file_before_estimate_or_submit(local_png: Path) -> None:
    for operator in (
        ClipiaGenerateOperator(
            task_id="g", model="seedance-2-fast-i2v", inputs={"image_url": str(local_png)}, max_credits=50
        ),
        ClipiaEstimateOperator(
            task_id="e", model="seedance-2-fast-i2v", inputs={"image_url": str(local_png)}
        ),
    ):
        with respx.mock(using="httpx", assert_all_called=False) as router:
            anything = router.route()
            with pytest.raises(AirflowFailException, match=r"^image_url: .* is a local file"):
                operator.execute(make_context())
        assert not anything.called
