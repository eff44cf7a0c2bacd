"""The Clipia operators take the model's inputs as ``inputs=``; ``input=`` still works, with a warning."""

from __future__ import annotations

import pytest
from airflow.exceptions import AirflowProviderDeprecationWarning

from clipgen_provider.exceptions import ClipgenConfigError
from clipgen_provider.operators.clipia import ClipiaEstimateOperator, ClipiaGenerateOperator


@pytest.mark.parametrize("operator", [ClipiaGenerateOperator, ClipiaEstimateOperator])
def test_inputs_is_the_name(operator: type) -> None:
    op = operator(task_id="t", model="nano-banana-2", inputs={"prompt": "a mug"})
    assert op.inputs == {"prompt": "a mug"}
    assert "inputs" in op.template_fields


@pytest.mark.parametrize("operator", [ClipiaGenerateOperator, ClipiaEstimateOperator])
def test_old_name_warns_and_still_works(operator: type) -> None:
    with pytest.warns(AirflowProviderDeprecationWarning, match="inputs="):
        op = operator(task_id="t", model="nano-banana-2", input={"prompt": "a mug"})
    assert op.inputs == {"prompt": "a mug"}


def test_both_names_is_an_error() -> None:
    with pytest.raises(ClipgenConfigError, match="once"):
        ClipiaGenerateOperator(task_id="t", model="m", inputs={"prompt": "a"}, input={"prompt": "b"})


def test_no_inputs_says_what_to_pass() -> None:
    with pytest.raises(ClipgenConfigError, match=r"inputs is required.*prompt"):
        ClipiaGenerateOperator(task_id="t", model="m")


def test_mapped_over_the_old_name_still_expands() -> None:
    from airflow.sdk import DAG

    with DAG("d", schedule=None):
        mapped = ClipiaGenerateOperator.partial(task_id="t", model="m").expand(input=[{"prompt": "a"}])
    assert mapped.expand_input.value == {"input": [{"prompt": "a"}]}
