"""The whole event pipeline of one process: the relay and every delivery, each in a
thread of its own, stopped together."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from api.config import Settings
from api.events.config import EventSettings
from api.events.relay import Relay
from api.events.sinks.pubsub import PubSubDelivery
from api.events.sinks.runner import Delivery, DeliveryRunner
from api.events.sinks.webhooks import WebhookDelivery
from api.spanner.database import SpannerDatabase
from api.storage import build_client, spanner_config

log = logging.getLogger(__name__)


# What one process may run: the relay, and each kind of delivery. All of them by default
# (as on Cloud Run); apart, each part's cost can be measured on its own (bench/events.py).
PARTS = ("relay", "pubsub", "webhooks")


@dataclass
class Pipeline:
    relay: Relay | None
    runners: list[DeliveryRunner]
    deliveries: list[Delivery]
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    @property
    def refused(self) -> str | None:
        return self.relay.refused if self.relay is not None else None

    def start(self) -> None:
        jobs: list[tuple[str, Callable[[threading.Event], None]]] = []
        if self.relay is not None:
            jobs.append(("relay", self.relay.run))
        jobs += [(r.sink_id, r.run) for r in self.runners]
        for name, job in jobs:
            thread = threading.Thread(target=job, args=(self.stop,), name=name, daemon=True)
            thread.start()
            self.threads.append(thread)

    def wait(self) -> None:
        while not self.stop.wait(1.0):
            if not all(t.is_alive() for t in self.threads):
                log.error("events pipeline: a thread ended; stopping")
                self.stop.set()

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)
        for delivery in self.deliveries:
            close = getattr(delivery, "close", None)
            if close is not None:
                close()


def build_pipeline(
    settings: Settings, events: EventSettings, parts: Sequence[str] = PARTS
) -> Pipeline:
    role = events.database_role if settings.use_database_roles else None
    database = SpannerDatabase(spanner_config(settings), build_client(settings), role=role)
    database.open()
    deliveries: list[Delivery] = []
    if events.pubsub_topic and "pubsub" in parts:
        project = events.pubsub_project or settings.project
        topic = f"projects/{project}/topics/{events.pubsub_topic}"
        deliveries.append(PubSubDelivery(topic, region=events.pubsub_region))
    if "webhooks" in parts:
        deliveries += [WebhookDelivery(e, events, database) for e in events.webhooks]
    return Pipeline(
        relay=Relay(database, events, settings.ddl_dir) if "relay" in parts else None,
        runners=[DeliveryRunner(database, events, d) for d in deliveries],
        deliveries=deliveries,
    )
