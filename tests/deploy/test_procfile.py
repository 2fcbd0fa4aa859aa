"""The Procfile that a buildpack build of the service runs (Google's Python buildpack).

`gcloud run deploy --source .` builds the Dockerfile whenever there is one, so the
Procfile only counts for a build without it (`gcloud builds submit --pack ...`, or a
tree without the Dockerfile). There, without a Procfile, the buildpack starts
`gunicorn main:app` (a WSGI server) on Python < 3.13, which cannot serve the FastAPI
(ASGI) app.
"""

from __future__ import annotations

import re

import pytest

from tests.support import ROOT

PROCFILE = ROOT / "Procfile"


@pytest.fixture(scope="module")
def web() -> str:
    processes = dict(
        line.split(":", 1) for line in PROCFILE.read_text().splitlines() if line.strip()
    )
    assert set(processes) == {"web"}
    return processes["web"].strip()


def test_web_process_is_uvicorn_serving_the_asgi_app(web):
    assert web.startswith("uvicorn main:app ")


def test_web_process_is_not_gunicorn(web):
    assert "gunicorn" not in web


def test_web_process_listens_on_the_platform_port(web):
    assert "--host 0.0.0.0" in web
    assert re.search(r"--port \$\{?PORT\b", web)


def test_web_process_shuts_down_before_cloud_run_kills_at_10_s(web):
    match = re.search(r"--timeout-graceful-shutdown (\d+)", web)
    assert match is not None
    assert int(match.group(1)) < 10
