"""Deliveries of the Events table: Pub/Sub and webhooks, each with its own cursor."""
