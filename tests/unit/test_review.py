"""The review gate's rules without a deployment: what its page says, what an answer approves, and
the errors a DAG author or a reviewer gets for bad input."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import jinja2
import pytest

from clipgen_provider.exceptions import ClipgenConfigError
from clipgen_provider.operators._review_items import (
    APPROVE_ALL,
    APPROVE_SELECTED,
    REGENERATE,
    REJECT,
    ReviewItem,
    UpstreamResult,
    decide,
    render_body,
    review_items,
)
from clipgen_provider.operators.review import ClipgenReviewOperator, with_review_note

OPTIONS = [APPROVE_ALL, APPROVE_SELECTED, REGENERATE, REJECT]


def _image_result(request_id: str, *names: str, stored: bool = True, cost: float = 4) -> dict[str, Any]:
    images = [{"url": f"http://127.0.0.1:9/media/{name}", "content_type": "image/png"} for name in names]
    result: dict[str, Any] = {
        "request_id": request_id,
        "status": "COMPLETED",
        "model": "nano-banana-2",
        "output": {"images": images},
        "cost": cost,
        "media_urls": [image["url"] for image in images],
    }
    if stored:
        result["stored_paths"] = [f"file:///out/{request_id}-{i}.png" for i in range(len(names))]
    return result


def _clipwise_video() -> dict[str, Any]:
    url = "http://127.0.0.1:9/media/gen_1.mp4"
    return {"generation_id": "gen_1", "format": "ugc_ad", "status": "completed", "media_urls": [url]}


@pytest.fixture
def items() -> list[ReviewItem]:
    return review_items(
        [
            UpstreamResult("shots", 0, _image_result("r0", "a.png"), prompt="A mug [on] a *counter*"),
            UpstreamResult("shots", 1, None),  # a map index that left nothing (skipped)
            UpstreamResult("shots", 2, _image_result("r2", "b.png", "c.png")),
            UpstreamResult("ad", -1, _clipwise_video()),
        ]
    )


def test_items_are_numbered_across_tasks_and_map_indexes_with_their_facts(items: list[ReviewItem]) -> None:
    assert [(i.label, i.task_id, i.map_index, i.kind) for i in items] == [
        ("item 1", "shots", 0, "image"),
        ("item 2", "shots", 2, "image"),
        ("item 3", "shots", 2, "image"),
        ("item 4", "ad", -1, "video"),
    ]
    assert [i.stored_path for i in items] == [
        "file:///out/r0-0.png",
        "file:///out/r2-0.png",
        "file:///out/r2-1.png",
        None,
    ]
    assert (items[2].job_id, items[2].model, items[2].cost) == ("r2", "nano-banana-2", 4.0)
    assert (items[3].job_id, items[3].model, items[3].cost) == ("gen_1", "ugc_ad", None)


def test_body_shows_thumbnails_links_and_facts_with_the_prompt_made_inert(items: list[ReviewItem]) -> None:
    body = render_body(items, intro="Check the *label*.", options=OPTIONS, timeout_note="Timeout: Reject.")
    assert body.startswith("Check the *label*.\n\n**4 media files from 3 generations.**")
    image = "http://127.0.0.1:9/media/a.png"
    assert (
        f"#### item 1\n[![item 1]({image})]({image})\n\n`shots` [0] · nano-banana-2 · 4 credits · job `r0`"
        in body
    )
    assert "Prompt: A mug \\[on\\] a \\*counter\\*" in body
    assert "Stored: `file:///out/r0-0.png`" in body
    assert "[▶ open the video of item 4](http://127.0.0.1:9/media/gen_1.mp4)" in body
    assert "`ad` · ugc\\_ad · job `gen_1`" in body, "markdown in a format name is made inert"
    assert "**Regenerate**" in body
    assert body.index("item 1") < body.index("item 2") < body.index("item 4")


def test_body_escapes_urls_and_leaves_out_regenerate_when_not_offered() -> None:
    (item,) = review_items([UpstreamResult("g", -1, _image_result("r", "a (1).png"))])
    body = render_body([item], intro=None, options=[APPROVE_ALL, APPROVE_SELECTED, REJECT], timeout_note="")
    assert "(http://127.0.0.1:9/media/a%20%281%29.png)" in body
    assert "Regenerate" not in body
    assert body.startswith("**1 media file from 1 generation.**")


def test_a_value_that_is_not_a_generation_is_refused_with_the_task_named() -> None:
    with pytest.raises(ClipgenConfigError, match=r"shots\[1\] returned str, not a generation's result"):
        review_items([UpstreamResult("shots", 1, "done")])


@pytest.mark.parametrize(
    ("option", "selected", "decision", "approved"),
    [
        (APPROVE_ALL, None, "approved", ["item 1", "item 2", "item 3", "item 4"]),
        (APPROVE_SELECTED, ["item 3", "item 1"], "approved", ["item 1", "item 3"]),
        (APPROVE_SELECTED, "item 2", "approved", ["item 2"]),
        (REGENERATE, [], "regenerate", []),
        (REJECT, None, "rejected", []),
    ],
)
def test_an_answer_maps_to_the_approved_items(
    items: list[ReviewItem], option: str, selected: Any, decision: str, approved: list[str]
) -> None:
    verdict = decide(items, option, selected, note="  warmer light ")
    assert verdict.decision == decision
    assert [item.label for item in verdict.approved] == approved
    assert verdict.note == "warmer light"


def test_unknown_labels_are_refused_for_any_option(items: list[ReviewItem]) -> None:
    for option in (APPROVE_ALL, APPROVE_SELECTED, REJECT):
        with pytest.raises(ClipgenConfigError, match=r"selected 'item 9', which this review did not show"):
            decide(items, option, ["item 1", "item 9"], None)


def test_approve_selected_with_nothing_selected_is_refused(items: list[ReviewItem]) -> None:
    with pytest.raises(ClipgenConfigError, match="no item selected"):
        decide(items, APPROVE_SELECTED, [], "")


def test_items_round_trip_through_xcom(items: list[ReviewItem]) -> None:
    assert [ReviewItem.from_dict(item.as_dict()) for item in items] == items


def test_with_review_note_adds_the_note_only_when_there_is_one() -> None:
    template = jinja2.Environment().from_string(with_review_note("A red mug", "check"))

    class _TI:
        def __init__(self, note: str | None) -> None:
            self.note = note

        def xcom_pull(self, *, task_ids: str, key: str) -> str | None:
            assert (task_ids, key) == ("check", "review_note")
            return self.note

    assert template.render(ti=_TI("warmer light")) == "A red mug. Reviewer note: warmer light"
    assert template.render(ti=_TI(None)) == "A red mug"


# -- the operator's arguments ---------------------------------------------------------------------
def _dag() -> Any:
    from airflow.sdk import DAG

    return DAG("review_args", schedule=None, start_date=datetime(2026, 1, 1), params={"dag_level": 1})


def test_the_operator_offers_the_four_options_and_its_form_with_the_timeout_default() -> None:
    from clipgen_provider.operators.clipia import ClipiaGenerateOperator

    with _dag():
        shots = ClipiaGenerateOperator.partial(task_id="shots", model="m").expand(inputs=[{"prompt": "a"}])
        review = ClipgenReviewOperator(task_id="review", generations=shots.output, regenerate_to="again")
    assert review.options == OPTIONS
    assert review.defaults == [REJECT]
    assert review.multiple is False
    assert review.upstream_task_ids == {"shots"}
    assert review.generations == ["shots"]
    assert set(review.params) == {"selected", "note"}, "the DAG's params are not review fields"
    assert review.review_timeout == timedelta(hours=24)


def test_without_regenerate_to_there_is_no_regenerate_option() -> None:
    with _dag():
        review = ClipgenReviewOperator(
            task_id="review", generations="shots", response_timeout=60, timeout_decision=APPROVE_ALL
        )
    assert review.options == [APPROVE_ALL, APPROVE_SELECTED, REJECT]
    assert review.defaults == [APPROVE_ALL]
    assert review.review_timeout == timedelta(seconds=60)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"generations": []}, "generations is empty"),
        ({"generations": [3]}, "takes task ids, tasks or their .output, not int"),
        ({"generations": "g", "options": ["Yes"]}, "sets options itself"),
        ({"generations": "g", "timeout_decision": APPROVE_SELECTED}, "timeout_decision='Approve selected'"),
        (
            {"generations": "g", "timeout_decision": REGENERATE},
            "Regenerate is offered only with regenerate_to",
        ),
        ({"generations": "g", "response_timeout": 0}, "response_timeout must be positive"),
        (
            {"generations": "g", "params": {"note": "x"}},
            r"params \['note'\] are the review's own form fields",
        ),
    ],
)
def test_bad_arguments_fail_at_dag_parse_with_what_to_do(kwargs: dict[str, Any], message: str) -> None:
    with _dag(), pytest.raises(ClipgenConfigError, match=message):
        ClipgenReviewOperator(task_id="review", **kwargs)


def test_a_key_of_a_generation_is_refused_as_generations() -> None:
    from clipgen_provider.operators.clipia import ClipiaGenerateOperator

    with _dag():
        shots = ClipiaGenerateOperator(task_id="shots", model="m", inputs={"prompt": "a"})
        with pytest.raises(
            ClipgenConfigError, match=r"shots.output\['stored_paths'\]: pass the generate task"
        ):
            ClipgenReviewOperator(task_id="review", generations=shots.output["stored_paths"])  # type: ignore[index]
