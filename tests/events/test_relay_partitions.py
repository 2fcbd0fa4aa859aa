"""Which change stream partitions the relay reads when: splits and merges, which the
emulator never produces (it only ends partitions and starts single children)."""

from __future__ import annotations

from datetime import UTC, datetime

from api.events.relay import RESTART_DELAY_SECONDS, ready_to_read
from api.events.repository import Partition

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def _partition(token: str, *parents: str, finished: bool = False) -> Partition:
    return Partition(token, tuple(parents), T0, T0, finished)


def _ready(partitions: list[Partition], running: set[str] | None = None) -> list[str]:
    return [p.token for p in ready_to_read(partitions, running or set(), {}, now=100.0)]


def test_the_first_partitions_are_read_at_once() -> None:
    assert _ready([_partition("a"), _partition("b")]) == ["a", "b"]


def test_a_finished_partition_is_not_read_again() -> None:
    assert _ready([_partition("a", finished=True), _partition("b")]) == ["b"]


def test_a_partition_being_read_gets_no_second_reader() -> None:
    assert _ready([_partition("a"), _partition("b")], running={"a"}) == ["b"]


def test_a_split_child_waits_for_its_parent() -> None:
    parent, left, right = _partition("p"), _partition("l", "p"), _partition("r", "p")

    assert _ready([parent, left, right]) == ["p"]


def test_a_split_child_starts_once_its_parent_is_finished() -> None:
    parent = _partition("p", finished=True)

    assert _ready([parent, _partition("l", "p"), _partition("r", "p")]) == ["l", "r"]


def test_a_merged_child_waits_for_every_parent() -> None:
    partitions = [_partition("a", finished=True), _partition("b"), _partition("m", "a", "b")]

    assert _ready(partitions) == ["b"]


def test_a_merged_child_starts_when_all_its_parents_are_finished() -> None:
    done = [_partition("a", finished=True), _partition("b", finished=True)]

    assert _ready([*done, _partition("m", "a", "b")]) == ["m"]


def test_a_failed_reader_is_restarted_only_after_a_pause() -> None:
    partitions = [_partition("a")]
    failed = {"a": 100.0}

    assert ready_to_read(partitions, set(), failed, now=100.0 + RESTART_DELAY_SECONDS / 2) == []
    assert ready_to_read(partitions, set(), failed, now=100.0 + RESTART_DELAY_SECONDS) == partitions
