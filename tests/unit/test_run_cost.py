"""Totalling the cost of a run's generate results, mapped tasks included."""

from __future__ import annotations

from clipgen_provider.operators.cost import total_credits


def test_plain_mapped_and_costless_results():
    report = total_credits(
        {
            "image": {"cost": 4},
            "shots": [{"cost": 2}, {"cost": 2.5}, None],
            "clipwise": {"generation_id": "gen_1"},
            "failed": None,
        }
    )
    assert report == {"total_credits": 8.5, "by_task": {"image": 4.0, "shots[0]": 2.0, "shots[1]": 2.5}}
