"""``main`` itself, in fresh interpreters: what importing it does, and ``main.handler``."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.emulator

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _python(code: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_importing_main_connects_to_nothing(service_env, tmp_path):
    # A listener where the emulator should be: any connection would show up on it.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]
        env = service_env("unused", SPANNER_EMULATOR_HOST=f"127.0.0.1:{port}")

        done = _python("import main; print(main.app.state.runtime.starts)", env, tmp_path)

        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[-1] == "0"
        with pytest.raises(BlockingIOError):
            listener.accept()


# What a cold start must not pay for: tracing (when off), the event pipeline's own
# processes, the audit, the webhooks' HTTP client and the serverless adapters' packages.
NOT_IMPORTED_BY_MAIN = (
    "opentelemetry.sdk.trace",
    "api.tracing",
    "api.events.relay",
    "api.events.pipeline",
    "api.events.sinks",
    "api.audit",
    "httpx",
    "mangum",
    "functions_framework",
)


def test_importing_main_leaves_out_what_serving_does_not_need(service_env, tmp_path):
    code = (
        "import json, sys, main\n"
        f"names = {list(NOT_IMPORTED_BY_MAIN)!r}\n"
        "found = [m for m in sys.modules if any(m == n or m.startswith(n + '.') for n in names)]\n"
        "print(json.dumps(sorted(found)))\n"
    )

    done = _python(code, service_env("unused"), tmp_path)

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == []


GC_AFTER_IMPORT = (
    "import gc, json\n"
    "defaults = gc.get_threshold()\n"
    "import main\n"
    "found = {'enabled': gc.isenabled(), 'frozen': gc.get_freeze_count() > 0}\n"
    "found |= {'threshold': gc.get_threshold()[0], 'defaults': gc.get_threshold() == defaults}\n"
    "print(json.dumps(found))\n"
)


def test_importing_main_leaves_the_collector_on_with_what_it_built_frozen(service_env, tmp_path):
    env = service_env("unused", LEDGER_GC_GEN0_THRESHOLD="50000")

    done = _python(GC_AFTER_IMPORT, env, tmp_path)

    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.splitlines()[-1])
    assert found == {"enabled": True, "frozen": True, "threshold": 50_000, "defaults": False}


def test_importing_main_with_gc_tuning_off_leaves_python_defaults(service_env, tmp_path):
    env = service_env("unused", LEDGER_GC_GEN0_THRESHOLD="0")

    done = _python(GC_AFTER_IMPORT, env, tmp_path)

    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["enabled"] is True
    assert found["frozen"] is False
    assert found["defaults"] is True


def test_an_unsafe_identity_configuration_fails_the_import(service_env, tmp_path):
    env = service_env("unused", LEDGER_AUTH_MODE="google")  # and no LEDGER_AUTH_AUDIENCE

    done = _python("import main", env, tmp_path)

    assert done.returncode != 0
    assert "LEDGER_AUTH_AUDIENCE must be set" in done.stderr


def test_main_handler_serves_invocations_in_a_fresh_process_starting_once(
    service_env, ledger_database_factory, tmp_path
):
    code = (
        "import json, sys, main\n"
        "event = json.load(open(sys.argv[1]))\n"
        "codes = [main.handler(event, None)['statusCode'] for _ in range(3)]\n"
        "print(json.dumps({'codes': codes, 'starts': main.app.state.runtime.starts}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(FIXTURES / "http-api-v2-get-readyz.json")],
        env=service_env(ledger_database_factory()),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {"codes": [200, 200, 200], "starts": 1}
