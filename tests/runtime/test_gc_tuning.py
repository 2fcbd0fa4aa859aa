"""The worker's garbage-collector tuning (process-wide, so restored afterwards)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from api.runtime import tune_garbage_collector


@pytest.fixture
def restore_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restore_gc")
def test_tuning_freezes_start_up_objects_and_raises_the_young_threshold() -> None:
    tune_garbage_collector(50_000)
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (50_000, 20, 100)


@pytest.mark.usefixtures("restore_gc")
def test_zero_leaves_the_collector_alone() -> None:
    before = (gc.get_threshold(), gc.get_freeze_count())
    tune_garbage_collector(0)
    assert (gc.get_threshold(), gc.get_freeze_count()) == before
