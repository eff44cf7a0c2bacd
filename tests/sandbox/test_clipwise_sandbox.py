"""The Clipwise half of the sandbox, over real HTTP on loopback.

Every test uses its own token (the sandbox keeps one account per token), so tests never share
state. Waiting is always a poll against a deadline, never a fixed sleep; timing knobs are set
only around the submits that need them (jobs copy the timing when they are created).
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from clipgen_provider.sandbox.app import create_app
from clipgen_provider.sandbox.server import SandboxServer
from clipgen_provider.sandbox.settings import SandboxSettings

PREFIX = "/api/sdk/v1/"
DEADLINE_SECONDS = 15.0
CONTRACT_TYPES = {
    "avatars", "voices", "background_music", "overlays", "templates", "background_images", "poses",
    "products", "product_images", "generic_uploads", "reference_ads", "reference_videos", "generated_media",
}  # fmt: skip
SEED_TABLE_REQUIRED = {
    "smart": ["prompt"],
    "business_videos": ["prompt"],
    "ecommerce_product_video": ["prompt"],
    "reddit_style": ["prompt"],
    "quiz": ["prompt"],
    "dialogue_video": ["prompt"],
    "viral_dancing_video": ["avatar", "reference_video"],
    "ugc_video": ["script"],
    "ugc_actor_video": ["script"],
    "ugc_clone": ["script"],
    "ugc_model_shoot": ["variations"],
    "ugc_product_background": ["variations"],
    "b_roll_video": ["video_context", "product_type", "aspect_ratio"],
    "static_ad": ["product_id", "ad_format"],
    "ad_replicate": ["avatar", "reference_video"],
    "avatar_lipsync": ["avatar", "audio"],
    "image_to_video": ["image", "prompt"],
    "text_to_image": ["prompt"],
    "text_to_audio": ["script", "voice"],
    "video_to_text": ["video"],
    "generate_subtitle": ["video"],
}


# -- harness ------------------------------------------------------------------------------------
def wait_until(check: Callable[[], Any], what: str, timeout: float = DEADLINE_SECONDS) -> Any:
    """Poll ``check`` until it returns something truthy, failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> SandboxServer:
    """The session's sandbox process (``tests/sandbox/conftest.py``), reached over loopback."""
    return sandbox_server


@pytest.fixture
def timing(sandbox: SandboxServer) -> Callable[..., AbstractContextManager[None]]:
    """``with timing(queue_seconds=…, run_seconds=…):`` around submits; restores the session timing.

    Jobs copy the timing when they are created, so the block only needs to hold the submits.
    """
    before = {name: sandbox.settings()[name] for name in ("queue_seconds", "run_seconds")}

    @contextmanager
    def use(**values: float) -> Iterator[None]:
        sandbox.update_settings(**values)
        try:
            yield
        finally:
            sandbox.update_settings(**before)

    return use


def new_token(prefix: str = "cw_test") -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def make_client(sandbox: SandboxServer, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=sandbox.url + PREFIX, headers=headers, timeout=30)


@pytest.fixture
def api(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    """A client with a fresh full-scope token."""
    with make_client(sandbox, new_token()) as client:
        yield client


@pytest.fixture
def other_api(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    """A second, unrelated full-scope token."""
    with make_client(sandbox, new_token("cw_live")) as client:
        yield client


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Check the Clipwise error envelope and return its ``details``."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "request_id"}, body
    assert body["request_id"].startswith("req_")
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    return body["error"]["details"]


def upload(client: httpx.Client, content: bytes = b"data", name: str = "clip.mp4", **fields: str) -> dict:
    response = client.post("uploads/", files={"file": (name, content)}, data=fields)
    assert response.status_code == 201, response.text
    return response.json()["upload"]


def generate(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.post("generations/", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def generation(client: httpx.Client, generation_id: str) -> dict[str, Any]:
    response = client.get(f"generations/{generation_id}/")
    assert response.status_code == 200, response.text
    return response.json()["generation"]


def wait_status(client: httpx.Client, generation_id: str, statuses: set[str]) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        current = generation(client, generation_id)
        return current if current["status"] in statuses else None

    return wait_until(check, f"{generation_id} to reach {statuses}")


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


# -- auth, scopes, envelope ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Basic Y3dfdGVzdA==",
        "Bearer sk_live_abcdef",
        "Bearer cw_",
        "Bearer cw_test_revoked_x1",
    ],
)
def test_bad_or_missing_token_is_401(sandbox: SandboxServer, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    with httpx.Client(base_url=sandbox.url + PREFIX, headers=headers) as client:
        assert_error(client.get("formats/"), 401, "invalid_api_key")
        assert_error(client.post("generations/", json={"format": "smart"}), 401, "invalid_api_key")


SCOPE_CASES = [
    ("cw_test_readonly", "POST", "generations/", "generations:write"),
    ("cw_test_readonly", "POST", "generations/gen_x/cancel/", "generations:write"),
    ("cw_test_readonly", "POST", "extract-url/", "generations:write"),
    ("cw_test_readonly", "POST", "uploads/", "resources:write"),
    ("cw_test_readonly", "POST", "products/", "resources:write"),
    ("cw_test_readonly", "PATCH", "products/prod_x/", "resources:write"),
    ("cw_test_readonly", "DELETE", "resources/avatars/res_x/", "resources:write"),
    ("cw_test_readonly", "POST", "resources/avatars/generate/", "resources:write"),
    ("cw_test_noresources", "GET", "resource-types/", "resources:read"),
    ("cw_test_noresources", "GET", "resources/avatars/", "resources:read"),
    ("cw_test_noresources", "GET", "uploads/", "resources:read"),
    ("cw_test_noresources", "GET", "products/", "resources:read"),
    ("cw_test_nogenerations", "GET", "generations/gen_x/", "generations:read"),
    ("cw_test_nogenerations", "GET", "extract-url/ext_x/", "generations:read"),
]


@pytest.mark.parametrize(("prefix", "method", "path", "scope"), SCOPE_CASES)
def test_missing_scope_is_403_naming_it(
    sandbox: SandboxServer, prefix: str, method: str, path: str, scope: str
) -> None:
    with make_client(sandbox, new_token(prefix)) as client:
        details = assert_error(client.request(method, path, json={}), 403, "insufficient_scope")
    assert details["required_scope"] == scope
    assert scope not in details["token_scopes"]


@pytest.mark.parametrize(
    ("prefix", "method", "path", "status"),
    [
        ("cw_test_readonly", "GET", "formats/", 200),
        ("cw_test_readonly", "GET", "resource-types/", 200),
        ("cw_test_readonly", "GET", "generations/gen_unknown/", 404),
        ("cw_test_noresources", "GET", "formats/", 200),
        ("cw_test_noresources", "POST", "extract-url/", 400),
        ("cw_test_nogenerations", "GET", "formats/", 200),
        ("cw_test_nogenerations", "GET", "resources/avatars/", 200),
        ("cw_test_nogenerations", "POST", "products/", 400),
    ],
)
def test_restricted_tokens_keep_their_other_scopes(
    sandbox: SandboxServer, prefix: str, method: str, path: str, status: int
) -> None:
    with make_client(sandbox, new_token(prefix)) as client:
        assert client.request(method, path, json={}).status_code == status


def test_unknown_routes_and_bad_input_use_the_envelope(api: httpx.Client) -> None:
    assert_error(api.get("no-such-thing/"), 404, "not_found")
    assert "end with '/'" in api.get("formats").json()["error"]["message"]
    assert_error(api.get("formats"), 404, "not_found")
    assert_error(api.delete("formats/"), 405, "method_not_allowed")
    details = assert_error(api.get("uploads/", params={"page": "abc"}), 400, "invalid_argument")
    assert details["errors"][0]["location"] == ["query", "page"]
    assert_error(api.post("generations/", content=b"not json"), 400, "invalid_argument")
    assert_error(api.post("generations/", json=["a list"]), 400, "invalid_argument")


# -- formats ------------------------------------------------------------------------------------
FORMAT_KEYS = {
    "slug", "template_name", "display_name", "aliases", "kind", "platform", "description", "what_it_does",
    "required_inputs", "optional_inputs", "resource_requirements", "output_types", "examples",
}  # fmt: skip


def test_formats_list_has_every_seed_format_with_its_schema(api: httpx.Client) -> None:
    formats = {entry["slug"]: entry for entry in api.get("formats/").json()["formats"]}
    assert set(SEED_TABLE_REQUIRED) <= set(formats)
    assert "inventory_shoot" in formats
    for slug, required in SEED_TABLE_REQUIRED.items():
        entry = formats[slug]
        assert set(entry) >= FORMAT_KEYS, slug
        assert entry["required_inputs"] == required, slug
        assert entry["kind"] in ("format", "tool")
        assert entry["platform"] in ("clipwise", "video_company")
        assert entry["examples"]
        assert entry["examples"][0]["params"]["format"] == slug
        assert entry["examples"][0]["cli"].startswith(f"clipwise generate --format {slug} ")
    assert all(entry["active"] for entry in formats.values())


def test_formats_filters(api: httpx.Client) -> None:
    def slugs(**params: str) -> set[str]:
        response = api.get("formats/", params=params)
        assert response.status_code == 200, response.text
        return {entry["slug"] for entry in response.json()["formats"]}

    every = slugs()
    tools = slugs(kind="tool")
    assert tools == {"image_to_video", "text_to_image", "text_to_audio", "video_to_text", "generate_subtitle"}
    assert slugs(kind="format") == every - tools
    assert "ugc_video" in slugs(platform="clipwise")
    assert "ugc_video" not in slugs(platform="video_company")
    assert slugs(platform="clipwise") | slugs(platform="video_company") == every
    with_inactive = slugs(include_inactive="true")
    assert with_inactive - every == {"slideshow_video"}
    assert api.get("formats/slideshow_video/").json()["format"]["active"] is False
    assert_error(api.get("formats/", params={"kind": "widget"}), 400, "invalid_argument")


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("smart", "smart"),
        ("ai_viral_videos", "smart"),
        ("Smart Video", "smart"),
        ("SMART VIDEO", "smart"),
        ("prompt_to_video", "smart"),
        ("fmt_smart", "smart"),
        ("UGC Video", "ugc_video"),
        ("ugc", "ugc_video"),
        ("ugc_talking_head", "ugc_video"),
        ("Text to Audio", "text_to_audio"),
        ("tts", "text_to_audio"),
    ],
)
def test_format_retrieve_by_any_name(api: httpx.Client, name: str, slug: str) -> None:
    response = api.get(f"formats/{name}/")
    assert response.status_code == 200, response.text
    assert response.json()["format"]["slug"] == slug


def test_format_retrieve_unknown_is_404(api: httpx.Client) -> None:
    assert_error(api.get("formats/no_such_format/"), 404, "not_found")


def test_inventory_shoot_documents_its_modes(api: httpx.Client) -> None:
    entry = api.get("formats/inventory_shoot/").json()["format"]
    assert entry["modes"] == {"product_shoot": "ugc_product_background", "model_shoot": "ugc_model_shoot"}
    assert {"mode", "variations"} <= set(entry["required_inputs"])
    assert "reference_image" in entry["optional_inputs"]


# -- resources ----------------------------------------------------------------------------------
def test_resource_types_cover_the_contract(api: httpx.Client) -> None:
    types = {entry["type"]: entry for entry in api.get("resource-types/").json()["resource_types"]}
    assert set(types) == CONTRACT_TYPES
    assert {name for name, entry in types.items() if entry["supports_generate"]} == {
        "avatars",
        "background_images",
    }


@pytest.mark.parametrize("resource_type", sorted(CONTRACT_TYPES))
def test_every_type_has_seeded_items(api: httpx.Client, resource_type: str) -> None:
    answer = api.get(f"resources/{resource_type}/").json()
    assert answer["pagination"]["total"] >= 2
    for item in answer["items"]:
        assert item["resource_type"] == resource_type
        assert item["source_kind"] == "catalog"
        assert {"id", "display_name", "compatible_formats", "created_at"} <= set(item)
    retrieved = api.get(f"resources/{resource_type}/{answer['items'][0]['id']}/")
    assert retrieved.json()["resource"] == answer["items"][0]


def test_pagination_walks_every_page(api: httpx.Client) -> None:
    own = [
        upload(api, f"file {number}".encode(), f"f{number}.txt", purpose="document")["id"]
        for number in range(7)
    ]
    first = api.get("uploads/", params={"page": 1, "limit": 3}).json()
    total = first["pagination"]["total"]
    assert total == len(own) + 3  # three seeded demo uploads
    seen: list[str] = []
    page = 1
    while True:
        answer = api.get("uploads/", params={"page": page, "limit": 3}).json()
        pagination = answer["pagination"]
        assert pagination == {
            "page": page,
            "limit": 3,
            "total": total,
            "total_pages": 4,
            "has_next": page < 4,
        }
        seen += ids(answer["items"])
        if not pagination["has_next"]:
            break
        page += 1
    assert page == 4
    assert len(seen) == len(set(seen)) == total
    assert seen[-7:] == own  # creation order, after the shared catalog
    beyond = api.get("uploads/", params={"page": 9, "limit": 3}).json()
    assert beyond["items"] == []
    assert beyond["pagination"]["has_next"] is False
    for bad in ({"limit": 0}, {"limit": 101}, {"page": 0}, {"page": "x"}):
        assert_error(api.get("resources/avatars/", params=bad), 400, "invalid_argument")


@pytest.mark.parametrize(
    ("resource_type", "params", "expected"),
    [
        ("avatars", {"video_format": "viral_dancing_video"}, ["res_avatar_kai_dancer"]),
        ("avatars", {"video_format": "Viral Dancing Video"}, ["res_avatar_kai_dancer"]),
        ("avatars", {"collection": "studio"}, ["res_avatar_ava", "res_avatar_sam"]),
        ("poses", {"video_format": "ugc_product_background"}, ["res_pose_flatlay", "res_pose_hand_hold"]),
        (
            "poses",
            {"video_format": "inventory_shoot"},
            ["res_pose_flatlay", "res_pose_hand_hold", "res_pose_standing", "res_pose_sitting"],
        ),
        ("overlays", {"type": "underlay"}, ["res_underlay_paper"]),
        ("product_images", {"product_type": "footwear"}, ["res_prodimg_sneaker"]),
        ("products", {"product_type": "skincare"}, ["prod_demo_serum"]),
        ("background_music", {"collection": "calm"}, ["res_music_calm_piano"]),
        ("reference_ads", {"file_type": "image"}, ["res_refad_static_square"]),
        (
            "reference_videos",
            {"video_format": "viral_dancing_video"},
            ["res_refvid_dance_trend", "res_refvid_shuffle"],
        ),
        ("voices", {"video_format": "quiz"}, []),
        (
            "background_images",
            {"video_format": "ugc_model_shoot", "collection": "studio"},
            ["res_bg_studio_white"],
        ),
    ],
)
def test_list_filters(
    api: httpx.Client, resource_type: str, params: dict[str, str], expected: list[str]
) -> None:
    response = api.get(f"resources/{resource_type}/", params=params)
    assert response.status_code == 200, response.text
    assert ids(response.json()["items"]) == expected


def test_list_rejects_unknown_video_format_and_type(api: httpx.Client) -> None:
    details = assert_error(
        api.get("resources/avatars/", params={"video_format": "nope"}), 400, "invalid_argument"
    )
    assert details["parameter"] == "video_format"
    assert_error(api.get("resources/spaceships/"), 404, "not_found")


def test_retrieve_unknown_or_wrong_type_is_404(api: httpx.Client) -> None:
    assert_error(api.get("resources/avatars/res_nope/"), 404, "not_found")
    assert_error(api.get("resources/avatars/res_voice_emma_en/"), 404, "not_found")
    assert_error(api.get("resources/spaceships/res_avatar_ava/"), 404, "not_found")


def test_multi_megabyte_upload_is_stored_with_its_digest(api: httpx.Client) -> None:
    content = os.urandom(6 * 1024 * 1024 + 17)
    response = api.post(
        "resources/product_images/upload/",
        files={"file": ("serum.png", content, "image/png")},
        data={"product_type": "skincare", "name": "Serum hero shot", "shoot": "spring"},
    )
    assert response.status_code == 201, response.text
    resource = response.json()["resource"]
    assert resource["id"].startswith("res_")
    assert resource["file_size"] == len(content)
    assert resource["sha256"] == hashlib.sha256(content).hexdigest()
    assert resource["content_type"] == "image/png"
    assert resource["filename"] == "serum.png"
    assert resource["display_name"] == "Serum hero shot"
    assert resource["product_type"] == "skincare"
    assert resource["metadata"] == {"shoot": "spring"}
    assert resource["source_kind"] == "uploaded"
    assert resource["url"].endswith(f"/media/{resource['id']}.png")
    assert api.get(f"resources/product_images/{resource['id']}/").json()["resource"] == resource
    listed = api.get("resources/product_images/", params={"product_type": "skincare", "limit": 100}).json()
    assert resource["id"] in ids(listed["items"])


@pytest.fixture
async def in_process() -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The real sandbox app in this process (to look at its state) and an ASGI client with a token."""
    app = create_app(SandboxSettings(queue_seconds=0.05, run_seconds=0.1))
    headers = {"Authorization": f"Bearer {new_token()}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox", headers=headers) as client:
        yield app, client


async def test_uploads_are_streamed_to_disk_not_kept_in_memory(
    in_process: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = in_process
    content = os.urandom(3 * 1024 * 1024)
    response = await client.post(
        PREFIX + "uploads/", files={"file": ("take.mp4", content)}, data={"purpose": "video"}
    )
    stored = response.json()["upload"]
    path = app.state.clipwise.storage.root / stored["id"]
    assert path.read_bytes() == content
    kept = [
        value
        for account in app.state.clipwise.accounts.values()
        for resource in account.owned.values()
        for value in resource.fields.values()
    ]
    assert content not in kept
    assert all(len(value) < 1024 for value in kept if isinstance(value, str | bytes))
    assert (await client.delete(f"{PREFIX}resources/generic_uploads/{stored['id']}/")).json() == {
        "success": True
    }
    assert not path.exists()


async def test_sandbox_reset_forgets_every_token(in_process: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = in_process
    response = await client.post(PREFIX + "uploads/", files={"file": ("a.png", b"png")})
    created = response.json()["upload"]["id"]
    assert (await client.post("/_sandbox/reset")).status_code == 200
    retrieved = await client.get(f"{PREFIX}resources/generic_uploads/{created}/")
    assert_error(retrieved, 404, "not_found")
    assert list(app.state.clipwise.storage.root.iterdir()) == []
    assert (await client.get(PREFIX + "resources/avatars/res_avatar_ava/")).status_code == 200


def test_voice_clone_is_a_voices_upload(api: httpx.Client) -> None:
    response = api.post(
        "resources/voices/upload/",
        files={"file": ("me.wav", b"RIFF....WAVE", "audio/wav")},
        data={"name": "My voice", "language": "en", "description": "calm narrator"},
    )
    assert response.status_code == 201, response.text
    voice = response.json()["resource"]
    assert (voice["display_name"], voice["language"], voice["description"]) == (
        "My voice",
        "en",
        "calm narrator",
    )
    assert voice["file_type"] == "audio"
    assert voice["url"].endswith(".wav")
    assert voice["id"] in ids(api.get("resources/voices/").json()["items"])
    job = generate(api, format="text_to_audio", script="Hello", voice=voice["id"])
    assert job["status"] == "queued"


def test_upload_rejections(api: httpx.Client) -> None:
    assert_error(api.post("uploads/", json={"purpose": "image"}), 400, "invalid_upload")
    assert_error(
        api.post("uploads/", data={"purpose": "image"}, files={"other": ("a.png", b"x")}),
        400,
        "invalid_upload",
    )
    assert_error(api.post("uploads/", files={"file": ("a.png", b"")}), 400, "invalid_upload")
    assert_error(
        api.post("uploads/", data={"file": "not a file"}, files={"x": ("a", b"1")}), 400, "invalid_upload"
    )
    details = assert_error(
        api.post("uploads/", files={"file": ("a.png", b"x")}, data={"purpose": "spreadsheet"}),
        400,
        "invalid_argument",
    )
    assert details["parameter"] == "purpose"
    assert_error(api.post("resources/avatars/upload/", files={"file": ("a.png", b"")}), 400, "invalid_upload")
    for resource_type in ("templates", "products", "generated_media"):
        response = api.post(f"resources/{resource_type}/upload/", files={"file": ("a.png", b"x")})
        assert_error(response, 400, "invalid_argument")
    assert_error(api.post("resources/spaceships/upload/", files={"file": ("a.png", b"x")}), 404, "not_found")


def test_resource_generate(api: httpx.Client) -> None:
    for resource_type in ("avatars", "background_images"):
        response = api.post(
            f"resources/{resource_type}/generate/",
            json={"prompt": "Female presenter in a studio", "video_format": "ugc_video", "style": "warm"},
        )
        assert response.status_code == 201, response.text
        resource = response.json()["resource"]
        assert resource["source_kind"] == "generated"
        assert resource["video_format"] == "ugc_video"
        assert resource["metadata"] == {"style": "warm"}
        assert resource["url"].endswith(".png")
        assert api.get(f"resources/{resource_type}/{resource['id']}/").status_code == 200
    details = assert_error(
        api.post("resources/voices/generate/", json={"prompt": "x"}), 400, "invalid_argument"
    )
    assert details["allowed"] == ["avatars", "background_images"]
    assert_error(api.post("resources/avatars/generate/", json={}), 400, "invalid_argument")


def test_delete_rules(api: httpx.Client, other_api: httpx.Client) -> None:
    mine = upload(api)["id"]
    assert_error(other_api.delete(f"resources/generic_uploads/{mine}/"), 404, "not_found")
    assert_error(api.delete("resources/avatars/res_avatar_ava/"), 403, "permission_denied")
    assert_error(api.delete("resources/generic_uploads/upl_demo_image/"), 403, "permission_denied")
    assert api.delete(f"resources/generic_uploads/{mine}/").json() == {"success": True}
    assert_error(api.delete(f"resources/generic_uploads/{mine}/"), 404, "not_found")
    assert api.get("resources/avatars/res_avatar_ava/").status_code == 200


def test_state_is_per_token(api: httpx.Client, other_api: httpx.Client) -> None:
    mine = upload(api, name="mine.png", purpose="image")
    assert_error(other_api.get(f"resources/generic_uploads/{mine['id']}/"), 404, "not_found")
    assert mine["id"] not in ids(other_api.get("uploads/", params={"limit": 100}).json()["items"])
    job = generate(api, format="smart", prompt="hello")
    assert_error(other_api.get(f"generations/{job['id']}/"), 404, "not_found")


# -- uploads and products -----------------------------------------------------------------------
def test_upload_roundtrip(api: httpx.Client) -> None:
    created = upload(api, b"\x00\x01" * 1000, "input.mp4", purpose="video", shot="wide")
    assert created["id"].startswith("upl_")
    assert (created["purpose"], created["file_type"], created["file_size"]) == ("video", "video", 2000)
    assert created["metadata"] == {"shot": "wide"}
    assert api.get(f"resources/generic_uploads/{created['id']}/").json()["resource"] == created
    assert created["id"] in ids(
        api.get("uploads/", params={"limit": 100, "file_type": "video"}).json()["items"]
    )
    assert api.delete(f"resources/generic_uploads/{created['id']}/").json() == {"success": True}
    assert_error(api.get(f"resources/generic_uploads/{created['id']}/"), 404, "not_found")


def test_product_lifecycle(api: httpx.Client) -> None:
    image = upload(api, b"png", "serum.png", purpose="image")["id"]
    response = api.post(
        "products/",
        json={
            "name": "Vitamin C Serum",
            "image_ids": [image, "res_prodimg_serum_side"],
            "url": "https://shop.example/serum",
            "product_type": "skincare",
            "sku": "VC-30",
        },
    )
    assert response.status_code == 201, response.text
    product = response.json()["product"]
    assert product["id"].startswith("prod_")
    assert (product["name"], product["display_name"], product["url"]) == (
        "Vitamin C Serum",
        "Vitamin C Serum",
        "https://shop.example/serum",
    )
    assert product["metadata"] == {"sku": "VC-30"}
    assert product["id"] in ids(api.get("products/", params={"limit": 100}).json()["items"])
    assert api.get(f"resources/products/{product['id']}/").json()["resource"] == product

    patched = api.patch(f"products/{product['id']}/", json={"name": "Serum 2", "color": "amber"}).json()[
        "product"
    ]
    assert (patched["name"], patched["display_name"]) == ("Serum 2", "Serum 2")
    assert patched["metadata"] == {"sku": "VC-30", "color": "amber"}
    assert patched["image_ids"] == [image, "res_prodimg_serum_side"]

    job = generate(api, format="static_ad", product_id=product["id"], ad_format="instagram_square")
    assert job["format"] == "static_ad"
    assert api.delete(f"products/{product['id']}/").json() == {"success": True}
    assert_error(api.patch(f"products/{product['id']}/", json={"name": "x"}), 404, "not_found")
    assert_error(api.delete(f"products/{product['id']}/"), 404, "not_found")


def test_product_validation(api: httpx.Client, other_api: httpx.Client) -> None:
    details = assert_error(api.post("products/", json={"url": "https://x.example"}), 400, "invalid_argument")
    assert details["missing"] == ["name"]
    details = assert_error(
        api.post("products/", json={"name": "A", "image_ids": ["upl_nope"]}), 400, "invalid_argument"
    )
    assert (details["parameter"], details["invalid"]) == ("image_ids", ["upl_nope"])
    foreign = upload(other_api)["id"]
    details = assert_error(
        api.post("products/", json={"name": "A", "image_ids": [foreign]}), 400, "invalid_argument"
    )
    assert details["invalid"] == [foreign]
    assert_error(
        api.post("products/", json={"name": "A", "image_ids": "upl_demo_image"}), 400, "invalid_argument"
    )
    assert_error(api.patch("products/prod_demo_serum/", json={"name": "Mine now"}), 403, "permission_denied")
    assert_error(api.delete("products/prod_demo_serum/"), 403, "permission_denied")
    own = api.post("products/", json={"name": "B"}).json()["product"]["id"]
    assert_error(api.patch(f"products/{own}/", json={"name": "  "}), 400, "invalid_argument")


# -- generations --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "missing"),
    [
        ({"format": "viral_dancing_video"}, ["avatar", "reference_video"]),
        (
            {"format": "viral_dancing_video", "avatar": "", "reference_video": None},
            ["avatar", "reference_video"],
        ),
        ({"format": "b_roll_video", "product_type": "skincare"}, ["video_context", "aspect_ratio"]),
        ({"format": "static_ad"}, ["product_id", "ad_format"]),
        ({"format": "text_to_audio", "script": "hi"}, ["voice"]),
        ({"format": "inventory_shoot"}, ["mode", "variations"]),
        ({"format": "smart", "prompt": "   "}, ["prompt"]),
        ({"prompt": "no format"}, ["format"]),
    ],
)
def test_missing_inputs_are_all_named(api: httpx.Client, body: dict[str, Any], missing: list[str]) -> None:
    details = assert_error(api.post("generations/", json=body), 400, "invalid_argument")
    assert details["missing"] == missing


def test_unknown_or_inactive_format_is_invalid_argument(api: httpx.Client) -> None:
    details = assert_error(api.post("generations/", json={"format": "hologram"}), 400, "invalid_argument")
    assert details["parameter"] == "format"
    body = {"format": "slideshow_video", "images": ["upl_demo_image"]}
    assert_error(api.post("generations/", json=body), 400, "invalid_argument")


@pytest.mark.parametrize(
    ("body", "parameter", "reason"),
    [
        (
            {
                "format": "viral_dancing_video",
                "avatar": "res_avatar_ava",
                "reference_video": "res_refvid_shuffle",
            },
            "avatar",
            "not_compatible",
        ),
        (
            {
                "format": "viral_dancing_video",
                "avatar": "res_voice_emma_en",
                "reference_video": "res_refvid_shuffle",
            },
            "avatar",
            "wrong_type",
        ),
        (
            {
                "format": "viral_dancing_video",
                "avatar": "res_avatar_kai_dancer",
                "reference_video": "res_nope",
            },
            "reference_video",
            "unknown",
        ),
        (
            {
                "format": "viral_dancing_video",
                "avatar": "res_avatar_kai_dancer",
                "reference_video": "res_refad_video_hook",
            },
            "reference_video",
            "wrong_type",
        ),
        (
            {
                "format": "ad_replicate",
                "avatar": "res_avatar_ava",
                "reference_video": "res_refad_static_square",
            },
            "reference_video",
            "wrong_file_type",
        ),
        (
            {
                "format": "inventory_shoot",
                "mode": "model_shoot",
                "variations": 2,
                "reference_image": "res_pose_flatlay",
            },
            "reference_image",
            "not_compatible",
        ),
        ({"format": "video_to_text", "video": "upl_demo_image"}, "video", "wrong_file_type"),
        (
            {
                "format": "text_to_audio",
                "script": "hi",
                "voice": "res_voice_emma_en",
                "avatar": "res_avatar_ava",
            },
            "avatar",
            "not_compatible",
        ),
        (
            {
                "format": "ecommerce_product_video",
                "prompt": "p",
                "product_images": ["res_prodimg_sneaker", 7],
            },
            "product_images",
            "not_an_id",
        ),
        (
            {"format": "static_ad", "product_id": "res_prodimg_sneaker", "ad_format": "story"},
            "product_id",
            "wrong_type",
        ),
    ],
)
def test_asset_that_does_not_belong_is_rejected(
    api: httpx.Client, body: dict[str, Any], parameter: str, reason: str
) -> None:
    details = assert_error(api.post("generations/", json=body), 400, "invalid_argument")
    assert details["parameter"] == parameter
    assert {"parameter": parameter, "reason": reason} in [
        {"parameter": each["parameter"], "reason": each["reason"]} for each in details["invalid"]
    ]


def test_another_tokens_asset_is_unknown(api: httpx.Client, other_api: httpx.Client) -> None:
    foreign = upload(other_api, b"video", "x.mp4", purpose="video")["id"]
    details = assert_error(
        api.post("generations/", json={"format": "video_to_text", "video": foreign}), 400, "invalid_argument"
    )
    assert details["invalid"][0] == {
        "parameter": "video",
        "id": foreign,
        "reason": "unknown",
        "expected_types": ["generic_uploads", "generated_media"],
    }


def test_bad_mode_and_scalars_are_invalid_argument(api: httpx.Client) -> None:
    body = {"format": "inventory_shoot", "mode": "studio", "variations": 2}
    details = assert_error(api.post("generations/", json=body), 400, "invalid_argument")
    assert (details["parameter"], details["allowed"]) == ("mode", ["model_shoot", "product_shoot"])
    for bad in ({"variations": 0}, {"variations": "4"}, {"variations": 11}):
        body = {"format": "ugc_model_shoot", **bad}
        assert (
            assert_error(api.post("generations/", json=body), 400, "invalid_argument")["parameter"]
            == "variations"
        )
    assert_error(api.post("generations/", json={"format": "smart", "prompt": 5}), 400, "invalid_argument")


def test_inventory_shoot_runs_as_its_mode_format(api: httpx.Client) -> None:
    job = generate(
        api, format="inventory_shoot", mode="model_shoot", variations=2, reference_image="res_pose_standing"
    )
    assert (job["format"], job["mode"]) == ("ugc_model_shoot", "model_shoot")
    done = wait_status(api, job["id"], {"completed"})
    assert len(done["outputs"]["result"]["urls"]) == 2


def test_idempotency_key(api: httpx.Client, other_api: httpx.Client) -> None:
    body = {"format": "smart", "prompt": "launch video"}
    headers = {"Idempotency-Key": "task-1-try-1"}
    first = api.post("generations/", json=body, headers=headers)
    again = api.post("generations/", json={"prompt": "launch video", "format": "smart"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    details = assert_error(
        api.post("generations/", json={**body, "prompt": "changed"}, headers=headers),
        409,
        "idempotency_key_reuse",
    )
    assert details["generation_id"] == first.json()["id"]
    wait_status(api, first.json()["id"], {"completed"})
    replay_after_finish = api.post("generations/", json=body, headers=headers).json()
    assert (replay_after_finish["id"], replay_after_finish["status"]) == (first.json()["id"], "completed")
    elsewhere = other_api.post("generations/", json=body, headers=headers).json()
    assert elsewhere["id"] != first.json()["id"]
    assert api.post("generations/", json=body).json()["id"] != first.json()["id"]
    assert_error(
        api.post("generations/", json=body, headers={"Idempotency-Key": "k" * 256}), 400, "invalid_argument"
    )


def test_lifecycle_queued_processing_completed(api: httpx.Client, timing: Callable[..., Any]) -> None:
    with timing(queue_seconds=0.3, run_seconds=0.6):
        job = generate(api, format="smart", prompt="Founder launch video")
    assert job["id"].startswith("gen_")
    assert (job["status"], job["progress"], job["outputs"], job["error"]) == ("queued", 0, {}, None)
    observed: list[dict[str, Any]] = []

    def completed() -> bool:
        observed.append(generation(api, job["id"]))
        return observed[-1]["status"] == "completed"

    wait_until(completed, "the job to complete")
    statuses = [each["status"] for each in observed]
    order = ["queued", "processing", "completed"]
    assert [order.index(status) for status in statuses] == sorted(order.index(status) for status in statuses)
    progress = [each["progress"] for each in observed]
    assert progress == sorted(progress)
    assert progress[-1] == 100
    done = observed[-1]
    assert done["created_at"] < done["updated_at"]
    outputs = done["outputs"]
    assert outputs["video_url"].endswith(f"/media/{outputs['generated_media_id']}.mp4")
    media = api.get(f"resources/generated_media/{outputs['generated_media_id']}/").json()["resource"]
    assert (media["source_kind"], media["generation_id"], media["url"]) == (
        "generated",
        job["id"],
        outputs["video_url"],
    )
    listed = ids(api.get("resources/generated_media/", params={"limit": 100}).json()["items"])
    assert listed.count(outputs["generated_media_id"]) == 1


def test_processing_is_observable_and_cannot_be_cancelled(
    api: httpx.Client, timing: Callable[..., Any]
) -> None:
    with timing(queue_seconds=0.05, run_seconds=60):
        job = generate(api, format="smart", prompt="long render")
    running = wait_status(api, job["id"], {"processing"})
    assert 0 <= running["progress"] < 100
    details = assert_error(api.post(f"generations/{job['id']}/cancel/"), 409, "unsupported_cancellation")
    assert details["status"] == "processing"
    assert generation(api, job["id"])["status"] == "processing"


def test_cancel_while_queued(api: httpx.Client, timing: Callable[..., Any]) -> None:
    with timing(queue_seconds=60, run_seconds=1):
        job = generate(api, format="smart", prompt="never mind")
    cancelled = api.post(f"generations/{job['id']}/cancel/")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["generation"]["status"] == "cancelled"
    assert generation(api, job["id"])["status"] == "cancelled"
    assert api.post(f"generations/{job['id']}/cancel/").json()["generation"]["status"] == "cancelled"
    media = api.get("resources/generated_media/", params={"limit": 100}).json()["items"]
    assert all(item.get("generation_id") != job["id"] for item in media)


def test_finished_jobs_cannot_be_cancelled(api: httpx.Client, timing: Callable[..., Any]) -> None:
    with timing(queue_seconds=0, run_seconds=0):
        completed = generate(api, format="smart", prompt="done")
        failed = generate(api, format="smart", prompt="boom [sandbox:fail]")
    for job, status in ((completed, "completed"), (failed, "failed")):
        details = assert_error(api.post(f"generations/{job['id']}/cancel/"), 409, "unsupported_cancellation")
        assert details["status"] == status
    assert_error(api.post("generations/gen_unknown/cancel/"), 404, "not_found")
    assert_error(api.get("generations/gen_unknown/"), 404, "not_found")


def test_fail_marker_ends_failed(api: httpx.Client) -> None:
    job = generate(api, format="ugc_video", script="Great serum [sandbox:fail]")
    failed = wait_status(api, job["id"], {"completed", "failed"})
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "generation_failed"
    assert failed["error"]["message"]
    assert failed["outputs"] == {}


def _check_outputs(entry: dict[str, Any], params: dict[str, Any], outputs: dict[str, Any]) -> None:
    """Outputs match the kind of the format: video_url for videos, result.url for tools and images."""
    media_id = outputs["generated_media_id"]
    primary = entry["output_types"][0]
    ext = {"video": "mp4", "image": "png", "audio": "mp3", "subtitles": "srt", "text": "txt"}[primary]
    if primary == "video":
        assert outputs["video_url"].endswith(f"/media/{media_id}.mp4")
    else:
        assert "video_url" not in outputs
    if entry["kind"] == "tool" or primary != "video":
        assert outputs["result"]["url"].endswith(f"/media/{media_id}.{ext}")
    if primary == "image" and params.get("variations", 1) > 1:
        assert len(outputs["result"]["urls"]) == params["variations"]
    if primary == "text":
        assert outputs["transcript"]


def test_every_format_example_runs_to_completion(api: httpx.Client) -> None:
    formats = api.get("formats/").json()["formats"]
    jobs = {}
    for entry in formats:
        params = entry["examples"][0]["params"]
        jobs[generate(api, **params)["id"]] = (entry, params)
    for job_id, (entry, params) in jobs.items():
        done = wait_status(api, job_id, {"completed", "failed", "cancelled"})
        assert done["status"] == "completed", (entry["slug"], done)
        _check_outputs(entry, params, done["outputs"])


def test_announced_media_facts_match_the_served_bytes(api: httpx.Client) -> None:
    job = generate(api, format="text_to_audio", script="Welcome", voice="res_voice_emma_en")
    result = wait_status(api, job["id"], {"completed"})["outputs"]["result"]
    avatar = api.get("resources/avatars/res_avatar_ava/").json()["resource"]
    for announced in (result, avatar):
        served = httpx.get(announced["url"])
        assert served.status_code == 200
        assert len(served.content) == announced["file_size"]
        assert served.headers["content-type"].startswith(announced["content_type"])
    assert result["url"].endswith(".mp3")


# -- extract URL --------------------------------------------------------------------------------
def _poll_ready(api: httpx.Client, task_id: str) -> dict[str, Any]:
    def ready() -> dict[str, Any] | None:
        answer = api.get(f"extract-url/{task_id}/").json()
        return answer if answer["ready"] else None

    return wait_until(ready, f"extract-url task {task_id}")


def test_extract_url_over_time(api: httpx.Client, timing: Callable[..., Any]) -> None:
    with timing(queue_seconds=0.2, run_seconds=0.3):
        started = api.post("extract-url/", json={"url": "https://www.tiktok.com/@brand/video/7312"})
    assert started.status_code == 201, started.text
    task = started.json()
    assert task["task_id"].startswith("ext_")
    assert "video_url" not in task
    assert task["source_url"] == "https://www.tiktok.com/@brand/video/7312"
    pending = api.get(f"extract-url/{task['task_id']}/").json()
    assert (pending["ready"], pending["video_url"], pending["error_code"]) == (False, None, None)
    done = _poll_ready(api, task["task_id"])
    assert done["success"] is True
    assert done["error"] is None
    assert done["error_code"] is None
    assert done["video_url"].endswith(f"/media/{task['task_id']}.mp4")
    assert done["request_id"].startswith("req_")


def test_extract_direct_video_link_is_ready_at_once(api: httpx.Client, timing: Callable[..., Any]) -> None:
    with timing(queue_seconds=60, run_seconds=60):
        task = api.post("extract-url/", json={"url": "https://cdn.example.com/clips/ad.MP4?sig=1"}).json()
    assert task["video_url"].endswith(f"/media/{task['task_id']}.mp4")
    answer = api.get(f"extract-url/{task['task_id']}/").json()
    assert (answer["ready"], answer["success"], answer["video_url"]) == (True, True, task["video_url"])


def test_extract_failure(api: httpx.Client) -> None:
    task = api.post("extract-url/", json={"url": "https://www.instagram.com/reel/fail-123/"}).json()
    assert "video_url" not in task
    done = _poll_ready(api, task["task_id"])
    assert (done["success"], done["video_url"], done["error_code"]) == (False, None, "url_extract_failed")
    assert done["error"]


@pytest.mark.parametrize("url", ["not a url", "ftp://example.com/a.mp4", "", "https://", 42, None])
def test_extract_rejects_invalid_urls(api: httpx.Client, url: Any) -> None:
    details = assert_error(api.post("extract-url/", json={"url": url}), 400, "invalid_argument")
    assert details["parameter"] == "url"


def test_extract_unknown_task_is_404(api: httpx.Client, other_api: httpx.Client) -> None:
    assert_error(api.get("extract-url/ext_unknown/"), 404, "not_found")
    task = api.post("extract-url/", json={"url": "https://example.com/v/1"}).json()
    assert_error(other_api.get(f"extract-url/{task['task_id']}/"), 404, "not_found")
