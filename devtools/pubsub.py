"""The gcloud SDK's Pub/Sub emulator on a free port, and the topic and subscription of
the event pipeline on it. For ``make run``, the tests and the benchmarks only."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from google.api_core import exceptions as gexc
from google.cloud import pubsub_v1  # type: ignore[attr-defined]

from devtools.emulator import (
    Emulator,
    EmulatorCommand,
    EmulatorNotFound,
    _gcloud_sdk_root,
    free_port,
)

INSTALL_HINT = (
    "No Pub/Sub emulator found. Install it with\n"
    "    gcloud components install pubsub-emulator\n"
    "(or `apt-get install google-cloud-cli-pubsub-emulator` where gcloud came from apt); "
    "it needs Java."
)


def find_pubsub_emulator() -> Path | None:
    root = _gcloud_sdk_root()
    if root:
        candidate = root / "platform" / "pubsub-emulator" / "bin" / "cloud-pubsub-emulator"
        if candidate.is_file():
            return candidate
    on_path = shutil.which("cloud-pubsub-emulator")
    return Path(on_path) if on_path else None


def pubsub_emulator(host: str = "127.0.0.1") -> Emulator:
    """Not started yet: ``with pubsub_emulator() as emulator`` (its address is
    ``PUBSUB_EMULATOR_HOST``). Its data lives in a temporary directory."""
    binary = find_pubsub_emulator()
    if binary is None or not shutil.which("java"):
        raise EmulatorNotFound(INSTALL_HINT)
    port = free_port(host)
    data_dir = tempfile.mkdtemp(prefix="pubsub-emulator-")
    argv = [str(binary), f"--host={host}", f"--port={port}", f"--data-dir={data_dir}"]
    return Emulator(host, EmulatorCommand(argv, port, "binary"), name="pubsub-emulator")


def ensure_topic_and_subscription(
    emulator_host: str, project: str, topic: str, subscription: str | None = None
) -> tuple[str, str | None]:
    """Create them if missing (an ordered subscription: per-account order)."""
    os.environ["PUBSUB_EMULATOR_HOST"] = emulator_host
    publisher = pubsub_v1.PublisherClient()
    topic_path = publisher.topic_path(project, topic)
    with contextlib.suppress(gexc.AlreadyExists):
        publisher.create_topic(name=topic_path)
    if subscription is None:
        return topic_path, None
    subscriber = pubsub_v1.SubscriberClient()
    subscription_path = subscriber.subscription_path(project, subscription)
    with contextlib.suppress(gexc.AlreadyExists):
        subscriber.create_subscription(
            request={
                "name": subscription_path,
                "topic": topic_path,
                "enable_message_ordering": True,
            }
        )
    subscriber.close()
    return topic_path, subscription_path
