"""The relay's and the deliveries' settings: ``LEDGER_EVENTS_*`` environment variables.

Where the ledger lives (project, instance, database, emulator) comes from the service's
own ``api.config.Settings``; these are only the pipeline's knobs.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, HttpUrl, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105 - a format prefix, not a secret


class WebhookEndpoint(BaseModel):
    """One receiver, registered by an operator: ``LEDGER_EVENTS_WEBHOOKS`` is a JSON list
    of ``{"id", "url", "secret"}``; the secret is ``whsec_`` and base64 (Standard
    Webhooks), held in Secret Manager on Cloud Run."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    url: HttpUrl
    secret: SecretStr
    # Only events of these types (empty: all).
    types: list[str] = Field(default_factory=list)

    @field_validator("secret")
    @classmethod
    def _standard_webhooks_secret(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value()
        if not raw.startswith(WEBHOOK_SECRET_PREFIX):
            raise ValueError("a webhook secret starts with 'whsec_' (Standard Webhooks)")
        key = base64.b64decode(raw.removeprefix(WEBHOOK_SECRET_PREFIX), validate=True)
        if len(key) < 24:
            raise ValueError("a webhook secret needs at least 24 random bytes")
        return value

    def key(self) -> bytes:
        return base64.b64decode(self.secret.get_secret_value().removeprefix(WEBHOOK_SECRET_PREFIX))


class EventSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LEDGER_EVENTS_",
        env_file=".env",
        extra="ignore",
        frozen=True,
        validate_by_name=True,
    )

    # The database role the pipeline runs as, when the service uses roles
    # (LEDGER_USE_DATABASE_ROLES): it reads the stream and writes only Events' tables.
    database_role: str = "ledger_relay"

    # --- reading the change stream ------------------------------------------
    # The relay reads from where the change stream began (its migration's commit time) and
    # resumes where it stopped. When it cannot (the stream's retention, 7 days, has passed
    # since then), it refuses to start, unless an operator accepts the gap: accept_gap
    # with start_at, an instant within the retention, where reading begins afresh. The
    # feed's starts_at then says so.
    accept_gap: bool = False
    start_at: datetime | None = None
    # Spanner sends a heartbeat when a partition is quiet: how far the watermark (and the
    # feed's complete_until) lags behind when nothing happens.
    heartbeat_ms: int = Field(default=1000, ge=100, le=300_000)
    # A partition is read in windows of this long; one query per window.
    query_window_seconds: float = Field(default=300.0, ge=1, le=3600)
    # Events are stored in batches: at most this long after the first of a batch...
    flush_interval_ms: float = Field(default=100.0, ge=1, le=10_000)
    # ...and at most this many per transaction (each writes one row).
    flush_max_events: int = Field(default=2000, ge=1, le=10_000)
    # How often a delivery looks for new events when it has caught up.
    poll_interval_ms: float = Field(default=200.0, ge=10, le=60_000)
    # Events a delivery takes from Events at a time.
    delivery_batch: int = Field(default=500, ge=1, le=5000)

    # --- Pub/Sub --------------------------------------------------------------
    # Topic id (in the ledger's project unless pubsub_project is set); unset: no Pub/Sub.
    pubsub_topic: str | None = None
    pubsub_project: str | None = None
    # Publish through this region's endpoint ({region}-pubsub.googleapis.com): Pub/Sub
    # keeps an ordering key's order only among messages published in one region, and the
    # global endpoint may route two publishes to two regions. Unset: the global endpoint.
    pubsub_region: str | None = Field(default=None, pattern=r"^[a-z]+-[a-z]+[0-9]+$")

    # --- webhooks -------------------------------------------------------------
    webhooks: Annotated[list[WebhookEndpoint], NoDecode] = Field(default_factory=list)
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    webhook_max_attempts: int = Field(default=8, ge=1, le=50)
    webhook_backoff_base_ms: float = Field(default=500.0, ge=1)
    webhook_backoff_cap_ms: float = Field(default=60_000.0, ge=1)
    # Deliveries in flight per endpoint; each account's events still go in order.
    webhook_concurrency: int = Field(default=8, ge=1, le=256)

    @model_validator(mode="after")
    def _gap_accepted_with_a_start(self) -> EventSettings:
        if self.accept_gap != (self.start_at is not None):
            raise ValueError(
                "LEDGER_EVENTS_ACCEPT_GAP=true and LEDGER_EVENTS_START_AT go together: the "
                "relay reads from where the change stream began, and only an operator who "
                "accepts a gap names a later instant to start from (docs/EVENTS.md)"
            )
        if self.start_at is not None and self.start_at.tzinfo is None:
            raise ValueError("LEDGER_EVENTS_START_AT needs a time zone (RFC 3339)")
        return self

    @field_validator("webhooks", mode="before")
    @classmethod
    def _webhooks_json(cls, value: object) -> object:
        if isinstance(value, str):
            return json.loads(value) if value.strip() else []
        return value
