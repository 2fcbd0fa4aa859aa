"""Create the emulator's instance and database if they are missing (local runs, tests,
benchmarks). On real Spanner, Terraform owns the instance and database."""

from __future__ import annotations

import contextlib

from google.api_core import exceptions as gexc
from google.cloud import spanner

EMULATOR_INSTANCE_CONFIG = "emulator-config"


def ensure_instance_and_database(
    client: spanner.Client, instance_id: str, database_id: str, *, timeout: float = 120
) -> None:
    instance = client.instance(
        instance_id,
        configuration_name=f"projects/{client.project}/instanceConfigs/{EMULATOR_INSTANCE_CONFIG}",
        display_name=instance_id,
        node_count=1,
    )
    with contextlib.suppress(gexc.AlreadyExists):
        instance.create().result(timeout)
    # No pool: creating the database must not try to open sessions on it.
    database = instance.database(database_id, pool=spanner.BurstyPool(target_size=1))
    with contextlib.suppress(gexc.AlreadyExists):
        database.create().result(timeout)


def drop_database(client: spanner.Client, instance_id: str, database_id: str) -> None:
    database = client.instance(instance_id).database(
        database_id, pool=spanner.BurstyPool(target_size=1)
    )
    with contextlib.suppress(gexc.NotFound):
        database.drop()
