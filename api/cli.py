"""What the command-line tools (migrations, audit) share: where the database is, and
how a backend failure reads to the operator."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import TypeVar

from google.api_core import exceptions as gexc
from google.auth.exceptions import DefaultCredentialsError
from pydantic import ValidationError

from api.config import Settings, get_settings
from api.spanner.budget import Budget
from api.spanner.database import SpannerDatabase
from api.spanner.errors import DeadlinePassed
from api.storage import build_client, spanner_config

T = TypeVar("T")

# What a tool catches around its Spanner work; backend_message says what it means.
BACKEND_ERRORS = (DefaultCredentialsError, gexc.GoogleAPICallError, gexc.RetryError)


def add_database_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project", help="default: LEDGER_PROJECT or GOOGLE_CLOUD_PROJECT")
    parser.add_argument("--instance", help="default: LEDGER_SPANNER_INSTANCE")
    parser.add_argument("--database", help="default: LEDGER_SPANNER_DATABASE")


def settings_from(args: argparse.Namespace, **overrides: object) -> Settings:
    """The service's settings from the environment, with the database the flags name."""
    values = {
        "project": args.project,
        "spanner_instance": args.instance,
        "spanner_database": args.database,
        **overrides,
    }
    return get_settings().model_copy(update={k: v for k, v in values.items() if v})


def database_path(settings: Settings) -> str:
    return (
        f"projects/{settings.project}/instances/{settings.spanner_instance}"
        f"/databases/{settings.spanner_database}"
    )


def backend_message(exc: Exception, where: str) -> str:
    if isinstance(exc, DefaultCredentialsError):
        return (
            "no Google credentials. Run `gcloud auth application-default login`, "
            "or set SPANNER_EMULATOR_HOST to use the emulator."
        )
    if isinstance(exc, gexc.GoogleAPICallError):
        return f"Spanner ({where}) answered {exc.code}: {exc.message}"
    return f"Spanner ({where}) did not answer in time: {exc}"


def positive_int(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


class ToolFailed(Exception):
    """A tool could not do its work: bad configuration, or Spanner did not answer."""


def run_on_database(
    args: argparse.Namespace,
    work: Callable[[SpannerDatabase, Budget, str], T],
    *,
    tag: str,
    what: str,
    role: Callable[[Settings], str | None] = lambda _settings: None,
) -> T:
    """``work`` on the database the flags and environment name (one session: a tool's
    work is one pass), as ``role``, within ``args.timeout`` seconds; its third argument
    is the database's path. Failures to run are ``ToolFailed`` with what they mean."""
    try:
        settings = settings_from(args, pool_size=1)
    except ValidationError as exc:
        raise ToolFailed(f"bad configuration in the environment:\n{exc}") from exc
    where = database_path(settings)
    try:
        client = build_client(settings)
        database = SpannerDatabase(spanner_config(settings), client, role=role(settings))
        database.open()
        try:
            return work(database, Budget(deadline=time.monotonic() + args.timeout, tag=tag), where)
        finally:
            database.close()
    except DeadlinePassed as exc:
        raise ToolFailed(f"{what} did not finish within --timeout: {exc}") from exc
    except BACKEND_ERRORS as exc:
        raise ToolFailed(backend_message(exc, where)) from exc
