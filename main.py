"""Entrypoints. Importing this module connects to nothing (cold start stays cheap).

- ``app``: the ASGI application for uvicorn on Cloud Run (``uvicorn main:app``).
"""

from __future__ import annotations

from api.app import create_app

app = create_app()
