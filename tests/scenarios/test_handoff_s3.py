"""Scenario 3: the hand-off through an S3-compatible store on loopback (moto's server mode)."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from tests.scenarios.conftest import S3_REGION
from tests.scenarios.harness import Scenario
from tests.scenarios.media_checks import media_kind

DAG_ID = "scenario_handoff_s3"
KEY = re.compile(r"^clipgen/\d{4}-\d{2}-\d{2}/(shots|videos)/[^/]+\.(png|mp4)$")


@dataclass(frozen=True)
class Bucket:
    """A bucket on the loopback S3, and a boto3 client to read it with."""

    name: str
    client: Any

    def objects(self) -> dict[str, bytes]:
        """Every object's key and bytes."""
        listing = self.client.list_objects_v2(Bucket=self.name).get("Contents", [])
        return {
            item["Key"]: self.client.get_object(Bucket=self.name, Key=item["Key"])["Body"].read()
            for item in listing
        }


@pytest.fixture
def bucket(scenario: Scenario, s3_endpoint: str) -> Bucket:
    """A fresh bucket, and the scenario's ``aws_default`` connection to its endpoint."""
    import boto3

    name = f"clipgen-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name=S3_REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=name)
    scenario.extra_env.update(
        CLIPGEN_S3_BUCKET=name,
        AIRFLOW_CONN_AWS_DEFAULT=json.dumps(
            {
                "conn_type": "aws",
                "login": "testing",
                "password": "testing",
                "extra": {"endpoint_url": s3_endpoint, "region_name": S3_REGION},
            }
        ),
    )
    return Bucket(name, client)


def test_files_stored_in_s3_are_handed_on_as_they_are(scenario: Scenario, bucket: Bucket) -> None:
    run = scenario.run(DAG_ID)
    run.assert_succeeded()

    objects = bucket.objects()
    assert all(KEY.match(key) for key in objects), sorted(objects)
    shots = {key: data for key, data in objects.items() if "/shots/" in key}
    videos = {key: data for key, data in objects.items() if "/videos/" in key}
    assert [media_kind(data) for data in shots.values()] == ["png"], sorted(objects)
    assert [media_kind(data) for data in videos.values()] == ["mp4"] * 3, sorted(objects)

    # the shot's stored path names the object, with the connection it was written with
    [stored] = run.value("product_shot")["stored_paths"]
    [(shot_key, shot_bytes)] = shots.items()
    assert stored == f"s3://aws_default@{bucket.name}/{shot_key}", stored
    for task_id in ("ugc_video", "product_clip", "animated_shot"):
        [video] = run.value(task_id)["stored_paths"]
        assert video.removeprefix(f"s3://aws_default@{bucket.name}/") in videos, (task_id, video)

    # Clipwise received the S3 object's bytes, as a product image and as an image upload
    digest = hashlib.sha256(shot_bytes).hexdigest()
    assert [item["sha256"] for item in scenario.own_resources("product_images")] == [digest]
    uploads = [
        item for item in scenario.clipwise_get("uploads/")["items"] if item.get("source_kind") != "catalog"
    ]
    assert [item["sha256"] for item in uploads] == [digest], uploads

    # Clipia accepted the stored path as an image_url (it takes only http(s) URLs: a signed one)
    submits = scenario.clipia_calls("POST", "/v1/models/seedance-2-fast-i2v")
    assert len(submits) == 1, submits
    assert submits[0]["status"] < 300, submits
    costs = run.value("product_shot")["cost"] + run.value("animated_shot")["cost"]
    assert costs == scenario.credits_spent() == 4 + 40  # one image; 4 s of 480p video at 10 a second
