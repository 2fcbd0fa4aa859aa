"""The whole event pipeline of one process: the relay and every delivery, each in a
thread of its own, stopped together."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
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


@dataclass
class Pipeline:
    relay: Relay
    runners: list[DeliveryRunner]
    deliveries: list[Delivery]
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        jobs: list[tuple[str, Callable[[threading.Event], None]]] = [("relay", self.relay.run)]
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


def build_pipeline(settings: Settings, events: EventSettings) -> Pipeline:
    role = events.database_role if settings.use_database_roles else None
    database = SpannerDatabase(spanner_config(settings), build_client(settings), role=role)
    database.open()
    deliveries: list[Delivery] = []
    if events.pubsub_topic:
        project = events.pubsub_project or settings.project
        topic = f"projects/{project}/topics/{events.pubsub_topic}"
        deliveries.append(PubSubDelivery(topic, region=events.pubsub_region))
    deliveries += [WebhookDelivery(e, events, database) for e in events.webhooks]
    return Pipeline(
        relay=Relay(database, events, settings.ddl_dir),
        runners=[DeliveryRunner(database, events, d) for d in deliveries],
        deliveries=deliveries,
    )
