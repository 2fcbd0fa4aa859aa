# The ledger's container image for Cloud Run (and any OCI runtime).
#
#   docker build -t ledger .
#   docker run -p 8080:8080 -e SPANNER_EMULATOR_HOST=... ledger
#
# Runtime dependencies only (requirements.lock): the dev and adapter locks, tests/, bench/, devtools/, docs/ and
# infra/ never enter the image (see .dockerignore; the COPY lines below name what ships).
#
# Base image: Python 3.11 (the version the project targets), Debian slim, pinned to a
# patch release. To pin the exact bytes as well, append the digest that
# `docker buildx imagetools inspect python:3.11.13-slim-bookworm` prints
# (FROM python:3.11.13-slim-bookworm@sha256:...).
FROM python:3.11.13-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8080

WORKDIR /app

# A fixed, unprivileged uid/gid that owns nothing in the image: the code is root-owned
# and read-only to the process that serves it.
RUN groupadd --system --gid 10001 ledger \
    && useradd --system --uid 10001 --gid ledger --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin ledger

# Dependencies in their own layer: it is rebuilt only when the lock changes, not on
# every code change. requirements.lock is the runtime's whole dependency tree, every
# file pinned by its hash (`make lock`): pip refuses anything else, so the image gets
# the bytes that were reviewed, and nothing the service does not run (the Lambda and
# functions adapters have locks of their own).
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes --requirement requirements.lock

# The application: the entrypoints, the package, and the schema (read by /readyz and by
# `python -m api.migrate up`, which the build runs from this same image).
COPY main.py ./
COPY api/ ./api/
COPY spanner_ddl/ ./spanner_ddl/
# Byte-compile now, so a cold start does not pay for it (the process cannot write here).
RUN python -m compileall -q /app

USER 10001:10001
EXPOSE 8080

# Cloud Run ignores HEALTHCHECK (its probes live on the service, infra/cloud_run.tf);
# this one serves `docker run` and Compose.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8080'), timeout=2)"]

# Exec form, so no shell sits between the runtime and the server... except the one that
# expands $PORT: `sh -c "exec uvicorn ..."` lets sh read $PORT (Cloud Run sets it) and
# then *replaces itself* with uvicorn (exec), so uvicorn runs as PID 1 and receives the
# SIGTERM that Cloud Run sends on scale-in or a new revision. uvicorn then stops
# accepting, lets in-flight requests finish for up to 8 s (--timeout-graceful-shutdown),
# and runs the lifespan shutdown (flush the write batcher, close the Spanner client)
# before Cloud Run's SIGKILL at 10 s. Request logs come from the app's own JSON logging,
# hence --no-access-log.
CMD ["sh", "-c", "exec uvicorn main:app --host 0.0.0.0 --port ${PORT:-8080} --timeout-graceful-shutdown 8 --no-access-log"]
