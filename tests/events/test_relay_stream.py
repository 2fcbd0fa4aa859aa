"""A partition reader that fails stops the thread that streams its window: no thread is
left blocked on a full inbox holding a snapshot."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from api.events import relay as relay_module
from api.events.config import EventSettings
from api.events.records import Heartbeat
from api.events.relay import PartitionReader, Relay
from api.events.repository import Partition

T0 = datetime(2026, 12, 8, tzinfo=UTC)


def _streams() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("relay-stream-")]


def test_a_failed_reader_stops_its_stream_thread(
    monkeypatch: pytest.MonkeyPatch, mocker: Any
) -> None:
    closed = threading.Event()

    def endless(*_args: Any, **_kwargs: Any) -> Iterator[list[Heartbeat]]:
        try:
            while True:
                yield [Heartbeat(T0)]
        finally:
            closed.set()  # the query is cancelled with the generator

    monkeypatch.setattr(relay_module.repository, "read_change_stream", endless)
    monkeypatch.setattr(relay_module, "INBOX_SIZE", 1)  # the stream is blocked on a full inbox
    relay = Relay(mocker.Mock(), EventSettings(_env_file=None), Path())  # type: ignore[call-arg]
    mocker.patch.object(relay, "save", side_effect=RuntimeError("Spanner is unreachable"))
    reader = PartitionReader(relay, Partition("tok", (), T0, T0, False), threading.Event())

    with pytest.raises(RuntimeError, match="unreachable"):
        reader.run()

    deadline = time.monotonic() + 5
    while _streams() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _streams() == []
    assert closed.wait(1)
