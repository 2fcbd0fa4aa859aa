"""Events: every committed change to the ledger, from a Spanner change stream.

``relay`` reads the stream into the Events table; ``feed`` serves it (GET /v1/events);
``sinks`` deliver it to Pub/Sub and to webhooks. ``python -m api.events`` runs them.
"""
