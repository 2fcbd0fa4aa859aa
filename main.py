"""Entrypoints: one app, three ways to serve it.

- ``app``: the ASGI application, for uvicorn on Cloud Run (see Dockerfile, Procfile)::

      uvicorn main:app --host 0.0.0.0 --port $PORT --timeout-graceful-shutdown 8

- ``ledger``: the target for Cloud Run functions, in functions-framework's ASGI mode::

      functions-framework --target=ledger --source=main.py --asgi

- ``handler``: AWS Lambda (API Gateway HTTP API v2, REST API v1, ALB) through Mangum.

Importing this module connects to nothing, so a cold start pays only for the imports:
the Spanner client opens in the lifespan (uvicorn) or on the first request (the two
adapters), once per process. The settings come from the environment, and an unsafe
identity configuration is refused right here (see ``api.auth.check_auth_startup``).
"""

from __future__ import annotations

import gc

# Importing and building the app makes ~100,000 objects that live as long as the process
# and next to no garbage: collecting while they are made (a few hundred times) is only
# start-up time. So the collector is off until the app exists; then it is frozen with the
# worker's own tuning, as the runtime does again once its client exists.
gc.disable()
try:
    from api.app import create_app
    from api.entrypoints import make_function_target, make_lambda_handler
    from api.runtime import tune_garbage_collector

    app = create_app()
    ledger = make_function_target(app)
    handler = make_lambda_handler(app)
    tune_garbage_collector(app.state.settings.gc_gen0_threshold)
finally:
    gc.enable()
