"""What the command-line tools (migrations, audit) share: where the database is, and
how a backend failure reads to the operator."""

from __future__ import annotations

import argparse

from google.api_core import exceptions as gexc
from google.auth.exceptions import DefaultCredentialsError

from api.config import Settings, get_settings

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
