"""Settings: every knob comes from a ``LEDGER_*`` environment variable (or ``.env``).

The ecosystem's own variables (``SPANNER_EMULATOR_HOST``, ``GOOGLE_CLOUD_PROJECT``,
``K_SERVICE``, ``PORT``) are read under their own names.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DDL_DIR = Path(__file__).resolve().parent.parent / "spanner_ddl"

SessionMode = Literal["pooled", "multiplexed"]
AuthMode = Literal["none", "google", "oidc"]
Scope = Literal["ledger.read", "ledger.write"]


EMAIL_PREFIX = "email:"
SUBJECT_PREFIX = "sub:"


def principal_scope_key(raw: str) -> str:
    """One ``LEDGER_AUTH_PRINCIPAL_SCOPES`` key in its canonical form: ``email:<address>``
    (matched only by a verified email) or ``sub:<subject>`` (only by the subject).

    A bare address is short for ``email:`` - the common case, Google service accounts.
    A bare subject is refused: subjects and emails must never share a namespace, or a
    subject spelled like an address would get that address's scopes.
    """
    key = raw.strip()
    if key.startswith(SUBJECT_PREFIX) and len(key) > len(SUBJECT_PREFIX):
        return key
    address = key.removeprefix(EMAIL_PREFIX)
    if "@" in address.strip("@"):
        return EMAIL_PREFIX + address
    raise ValueError(
        f"LEDGER_AUTH_PRINCIPAL_SCOPES key {raw!r} is neither an email address "
        "(optionally 'email:<address>') nor 'sub:<subject>'"
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LEDGER_",
        env_file=".env",
        extra="ignore",
        frozen=True,
        # Tests and tools pass values by field name, whatever the env alias.
        validate_by_name=True,
    )

    # --- where the data lives -------------------------------------------------
    project: str = Field(
        default="local-project",
        validation_alias=AliasChoices("LEDGER_PROJECT", "GOOGLE_CLOUD_PROJECT"),
    )
    spanner_instance: str = "ledger"
    spanner_database: str = "ledger"
    # The migrations this build ships; /readyz requires the database to be at the last.
    ddl_dir: Path = DEFAULT_DDL_DIR
    emulator_host: str | None = Field(
        default=None,
        validation_alias=AliasChoices("SPANNER_EMULATOR_HOST", "LEDGER_EMULATOR_HOST"),
    )

    # --- sessions and transactions --------------------------------------------
    # Multiplexed on Cloud Spanner: the client's own default, one session per role that
    # carries any number of concurrent transactions, so nothing caps a worker's Spanner
    # work below its threads (docs/OPERATIONS.md, "Sessions"). The emulator (1.5.x) has
    # none: pooled is forced there (effective_session_mode, applied by api/spanner/env.py).
    session_mode: SessionMode = "multiplexed"
    # Pooled mode only: sessions per handle, each one transaction at a time. Requests'
    # Spanner work runs on the threadpool (40 threads), plus the group-commit writer and
    # the sweeper: a pool smaller than that makes requests queue for a session.
    pool_size: int = Field(default=16, ge=1, le=400)
    # The budget of Spanner calls made outside any request (warming the pool at
    # start-up, the background pinger). Requests use request_timeout_seconds.
    pool_timeout_seconds: float = Field(default=10.0, gt=0)
    # Idle sessions are deleted by Spanner after an hour; ping well inside that.
    pool_ping_interval_seconds: int = Field(default=1800, ge=60)
    # Read-write transactions in flight per worker. None = no limit (production
    # Spanner locks rows, so unrelated transfers run in parallel); on the emulator
    # the default is 1 because it runs one read-write transaction at a time and
    # aborts the rest (measured: 8 threads → 3x fewer commits/s than serial).
    max_inflight_writes: int | None = Field(default=None, ge=1)
    # Back-off after an Aborted commit: full jitter on base * 2**attempt, capped.
    abort_retry_base_ms: float = Field(default=2.0, gt=0)
    abort_retry_cap_ms: float = Field(default=200.0, gt=0)
    # The whole budget of one request's Spanner work, retries included.
    request_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    retry_after_seconds: int = Field(default=1, ge=1)

    # --- batching ------------------------------------------------------------
    # Concurrent single-transfer requests of a worker share one transaction.
    group_commit_enabled: bool = True
    # How long the writer lingers for more requests once concurrency has been seen.
    group_commit_window_ms: float = Field(default=2.0, ge=0, le=1000)
    # Measured on the emulator: commits of 64-250 transfers give the most transfers/s;
    # the cost of one commit grows faster than its size beyond that (docs/BENCHMARKS.md).
    group_commit_max_items: int = Field(default=100, ge=1, le=2000)
    batch_chunk_size: int = Field(default=100, ge=1, le=2000)
    # The most transfers one commit may hold (atomic batches must fit it; a transaction
    # counts its legs). A transfer writes up to ~62 mutations (its row, two entries, two
    # account updates; a reversal also updates the original), so 1,200 stays under
    # Spanner's 80,000-mutation limit.
    max_transfers_per_commit: int = Field(default=1000, ge=1, le=1200)
    # How often each worker releases holds whose time is up (0: not in-process; then
    # call POST /v1/transfers:expire from a scheduler). The delay until a hold's
    # amount is available again is at most about this.
    hold_sweep_interval_seconds: float = Field(default=20.0, ge=0, le=3600)
    batch_max_transfers: int = Field(default=1000, ge=1, le=10_000)  # schemas.BATCH_HARD_LIMIT

    # --- limits on what callers send -----------------------------------------
    metadata_max_bytes: int = Field(default=4096, ge=2, le=1_000_000)
    max_page_size: int = Field(default=500, ge=1, le=5000)
    default_page_size: int = Field(default=50, ge=1)
    max_balance_ids: int = Field(default=100, ge=1, le=1000)
    # Signs page tokens (HMAC-SHA256), so a forged or altered token is refused. Required
    # where deployed (the same in every instance); unset locally, each process makes a
    # random one (api.pagination.page_token_key).
    page_token_secret: SecretStr | None = None
    # Reads that may be stale (lists, history, queries: ?max_staleness=) accept at most
    # this; and where they go (Spanner directed reads; unset: wherever Spanner likes).
    max_staleness_seconds: float = Field(default=60.0, gt=0, le=3600)
    stale_read_replica_type: Literal["READ_ONLY", "READ_WRITE"] | None = None
    stale_read_location: str | None = None

    # --- identity ------------------------------------------------------------
    auth_mode: AuthMode = "google"
    # Explicit, separate switch: 'none' on Cloud Run is refused unless this is set.
    allow_no_auth_on_cloud_run: bool = False
    auth_audience: str | None = None
    oidc_issuer: str | None = None
    oidc_jwks_url: str | None = None
    google_certs_url: str = "https://www.googleapis.com/oauth2/v1/certs"
    auth_leeway_seconds: int = Field(default=30, ge=0, le=300)
    auth_principal_scopes: Annotated[dict[str, list[Scope]], NoDecode] = Field(default_factory=dict)

    # --- edge ------------------------------------------------------------------
    # Request bodies above this are refused with 413 before they are read whole.
    # 6 MiB: a full 1,000-transfer batch with maximal (4 KiB) metadata is ~4.4 MB
    # (tests/edge/test_body_limit.py).
    max_body_bytes: int = Field(default=6 * 1024 * 1024, ge=1024, le=32 * 1024 * 1024)
    # CORS is off unless origins are listed (JSON list or comma-separated), e.g.
    # LEDGER_CORS_ALLOW_ORIGINS=https://console.example.com,https://ops.example.com
    cors_allow_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Token bucket per principal, per worker process (N instances allow N times this).
    # 0 in either disables the limit. A principal is usually a whole calling service,
    # so the default only stops a runaway client, not normal traffic.
    rate_limit_per_second: float = Field(default=1000.0, ge=0)
    rate_limit_burst: int = Field(default=2000, ge=0)

    @field_validator("cors_allow_origins", mode="before")
    @classmethod
    def _parse_origins(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                value = json.loads(text)
            else:
                value = [part for part in text.split(",") if part.strip()]
        if not isinstance(value, list):
            return value
        origins: list[str] = []
        for raw in value:
            if not isinstance(raw, str):
                raise ValueError("CORS origins must be strings")  # noqa: TRY004 - pydantic
            origin = raw.strip().removesuffix("/")
            scheme, sep, host = origin.partition("://")
            if (
                not sep
                or scheme.lower() not in ("http", "https")
                or not host
                or any(c in host for c in "/?#@* ")
            ):
                raise ValueError(
                    f"not a CORS origin: {raw!r} (expected scheme://host[:port], "
                    "no path and no wildcard)"
                )
            origins.append(f"{scheme.lower()}://{host.lower()}")
        return list(dict.fromkeys(origins))

    # --- the explorer --------------------------------------------------------
    # Read-only pages at /explorer (static files calling /v1 with the user's token).
    # Off by default: a deployment opts in to serving a UI.
    explorer_enabled: bool = False

    # --- Spanner fine-grained access control --------------------------------
    use_database_roles: bool = False
    reader_role: str = "ledger_reader"
    writer_role: str = "ledger_writer"

    # --- runtime environment ---------------------------------------------------
    k_service: str | None = Field(default=None, validation_alias=AliasChoices("K_SERVICE"))
    aws_lambda_function_name: str | None = Field(
        default=None, validation_alias=AliasChoices("AWS_LAMBDA_FUNCTION_NAME")
    )
    log_level: str = "INFO"
    # OpenTelemetry traces (FastAPI's native server spans, the Spanner client's spans)
    # exported to Cloud Trace (api/tracing.py). Off by default: when off it also skips a
    # per-request check of the providers that cost ~14 % of the event loop's time under
    # load (measured).
    otel_enabled: bool = False
    # Requests that arrive without a sampled-or-not decision (no trace header) are
    # traced at this ratio; the others as their caller decided (ParentBased).
    otel_sample_ratio: float = Field(default=0.1, ge=0, le=1)
    # After start-up, move the long-lived objects (client, pools, app) out of the
    # collector's way (gc.freeze) and collect the young generation less often.
    # Measured at 32 clients: p99 ~80 ms instead of ~105 ms, and a little more
    # throughput (docs/BENCHMARKS.md). 0 leaves Python's defaults alone.
    gc_gen0_threshold: int = Field(default=50_000, ge=0)

    @field_validator("auth_principal_scopes", mode="before")
    @classmethod
    def _parse_scopes(cls, value: object) -> object:
        if isinstance(value, str):
            return json.loads(value) if value.strip() else {}
        return value

    @field_validator("auth_principal_scopes", mode="after")
    @classmethod
    def _qualify_principals(cls, value: dict[str, list[Scope]]) -> dict[str, list[Scope]]:
        qualified: dict[str, list[Scope]] = {}
        for raw, scopes in value.items():
            key = principal_scope_key(raw)
            if key in qualified:
                raise ValueError(f"LEDGER_AUTH_PRINCIPAL_SCOPES names {key!r} more than once")
            qualified[key] = scopes
        return qualified

    @model_validator(mode="after")
    def _check_coherent(self) -> Settings:
        if self.default_page_size > self.max_page_size:
            raise ValueError("default_page_size must not exceed max_page_size")
        if self.abort_retry_cap_ms < self.abort_retry_base_ms:
            raise ValueError("abort_retry_cap_ms must be >= abort_retry_base_ms")
        return self

    @property
    def on_emulator(self) -> bool:
        return bool(self.emulator_host)

    @property
    def deployed_on(self) -> str | None:
        """The serverless platform this process runs on, if any (not a local run)."""
        if self.k_service:
            return "Cloud Run (K_SERVICE is set)"
        if self.aws_lambda_function_name:
            return "AWS Lambda (AWS_LAMBDA_FUNCTION_NAME is set)"
        return None

    @property
    def effective_session_mode(self) -> SessionMode:
        return "pooled" if self.on_emulator else self.session_mode

    @property
    def effective_max_inflight_writes(self) -> int | None:
        if self.max_inflight_writes is not None:
            return self.max_inflight_writes
        return 1 if self.on_emulator else None


@lru_cache
def get_settings() -> Settings:
    return Settings()
