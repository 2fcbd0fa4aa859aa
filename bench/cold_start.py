"""Cold start of each entrypoint: from process start to the first 200 on ``GET /readyz``.

    .venv/bin/python -m bench.cold_start [--repeat 10]

Against a private emulator on free ports with a migrated database, every repetition is
a fresh process, exactly as a new instance would start:

- uvicorn               ``uvicorn main:app`` (the Dockerfile's command), polled
- functions-framework   ``functions-framework --target=ledger --source=main.py --asgi``,
                        polled (gunicorn master imports main, forks a uvicorn worker)
- Lambda handler        ``python -c`` that imports main and calls ``main.handler`` with
                        the stored HTTP API v2 event for GET /readyz, as Lambda's init
                        and first invoke would; timed until it prints the 200
- import main only      ``python -c "import main"``, timed until the import is done: the
                        share of the above that is Python imports and building the app
                        (it opens no connection)

/readyz needs the Spanner client, a warm session pool (created at start-up or on first
use) and a schema query, so the figures include all of that; they exclude what the
platform adds (sandbox or container start, image pull, the network to real Spanner).
One warm-up run per entrypoint is not counted. Prints a Markdown table.

``--lambda-package DIR`` adds a row for ``main.handler`` run from a Lambda package built
as docs/DEPLOY.md says (unzipped), with only that directory and the standard library
importable, and no bytecode written, as on Lambda.
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.harness import INSTANCE, PROJECT, ROOT, create_database
from devtools.emulator import Emulator, free_port
from devtools.service import service_env

READYZ_EVENT = ROOT / "tests" / "entrypoints" / "fixtures" / "http-api-v2-get-readyz.json"
LAMBDA_INVOKE = (
    "import json, sys\n"
    "import main\n"
    "response = main.handler(json.load(open(sys.argv[1])), None)\n"
    "print(response['statusCode'], flush=True)\n"
)
POLL_SECONDS = 0.005
TIMEOUT_SECONDS = 60.0


def _env(emulator_host: str, database: str, workdir: Path) -> dict[str, str]:
    env = service_env(
        emulator_host,
        project=PROJECT,
        instance=INSTANCE,
        database=database,
        LEDGER_AUTH_MODE="none",
        LEDGER_LOG_LEVEL="WARNING",
        # gunicorn's control socket goes here rather than into ~/.gunicorn.
        XDG_RUNTIME_DIR=str(workdir),
    )
    # The image ships bytecode (the Dockerfile's compileall): the warm-up run writes it
    # here too, unless the caller's environment forbids it - then every timed run would
    # compile the app's ~100 modules (~0.15 s) that no Cloud Run instance compiles.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _ready(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/readyz")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def _time_server(argv: list[str], port: int, env: dict[str, str], cwd: Path) -> float:
    log = cwd / "server.log"
    started = time.perf_counter()
    with log.open("wb") as output:
        server = subprocess.Popen(argv, env=env, cwd=cwd, stdout=output, stderr=output)
    try:
        while not _ready(port):
            if server.poll() is not None or time.perf_counter() - started > TIMEOUT_SECONDS:
                raise RuntimeError(f"{argv[0]} did not become ready:\n{log.read_text()[-2000:]}")
            time.sleep(POLL_SECONDS)
        return time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(15)


def _time_until_line(argv: list[str], line: str, env: dict[str, str], cwd: Path) -> float:
    """Until the process prints ``line`` (its exit, which follows, is not counted)."""
    started = time.perf_counter()
    child = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None  # noqa: S101 - stdout=PIPE
    try:
        for output in child.stdout:
            if output.strip() == line:
                return time.perf_counter() - started
        raise RuntimeError(f"{argv[:3]} exited with {child.wait()} before printing {line!r}")
    finally:
        child.stdout.close()
        child.wait(TIMEOUT_SECONDS)


def uvicorn(env: dict[str, str], cwd: Path) -> float:
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "main:app", "--host", "127.0.0.1",
            "--port", str(port), "--timeout-graceful-shutdown", "8", "--no-access-log"]  # fmt: skip
    return _time_server(argv, port, env, cwd)


def functions_framework(env: dict[str, str], cwd: Path) -> float:
    port = free_port()
    argv = [str(Path(sys.executable).with_name("functions-framework")), "--target=ledger",
            f"--source={ROOT / 'main.py'}", "--asgi", "--host", "127.0.0.1",
            "--port", str(port)]  # fmt: skip
    return _time_server(argv, port, env, cwd)


def lambda_handler(env: dict[str, str], cwd: Path) -> float:
    argv = [sys.executable, "-c", LAMBDA_INVOKE, str(READYZ_EVENT)]
    return _time_until_line(argv, "200", env, cwd)


def packaged_lambda_handler(package: Path) -> Callable[[dict[str, str], Path], float]:
    """``main.handler`` from a Lambda package directory (docs/DEPLOY.md), nothing else.

    ``python -S`` leaves out site-packages (the venv), so only the standard library and
    the package are importable, as in /var/task; no bytecode is written, as Lambda's
    read-only /var/task allows none: only what the package ships precompiled is used.
    """

    def measure(env: dict[str, str], cwd: Path) -> float:
        argv = [sys.executable, "-S", "-c", LAMBDA_INVOKE, str(READYZ_EVENT)]
        packaged = {**env, "PYTHONPATH": str(package), "PYTHONDONTWRITEBYTECODE": "1"}
        return _time_until_line(argv, "200", packaged, package)

    return measure


def import_only(env: dict[str, str], cwd: Path) -> float:
    argv = [sys.executable, "-c", "import main; print('imported', flush=True)"]
    return _time_until_line(argv, "imported", env, cwd)


ENTRYPOINTS: dict[str, Callable[[dict[str, str], Path], float]] = {
    "uvicorn (`main:app`)": uvicorn,
    "functions-framework (`main.ledger`)": functions_framework,
    "Lambda handler (`main.handler`)": lambda_handler,
    "`import main` only": import_only,
}


def _machine() -> str:
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"{model}, {os.cpu_count()} vCPU, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=10, help="timed runs per entrypoint")
    parser.add_argument(
        "--lambda-package",
        type=Path,
        help="also time main.handler from this Lambda package directory (unzipped)",
    )
    args = parser.parse_args()
    entrypoints = dict(ENTRYPOINTS)
    if args.lambda_package:
        package = args.lambda_package.resolve()
        compiled = any(package.glob("api/__pycache__/*.pyc"))
        name = f"Lambda handler, package {'with' if compiled else 'without'} bytecode"
        entrypoints[name] = packaged_lambda_handler(package)

    with Emulator() as running, tempfile.TemporaryDirectory(prefix="cold-start-") as tmp:
        database = "coldstart"
        create_database(running.address, database)
        workdir = Path(tmp)
        env = _env(running.address, database, workdir)
        print(f"Machine: {_machine()}; Spanner emulator on localhost.")
        print("Load average before: {:.2f} {:.2f} {:.2f}\n".format(*os.getloadavg()))
        print("| entrypoint | median | max | runs |")
        print("| --- | ---: | ---: | ---: |")
        for name, measure in entrypoints.items():
            measure(env, workdir)  # warm-up: page cache, .pyc files
            seconds = [measure(env, workdir) for _ in range(args.repeat)]
            print(
                f"| {name} | {statistics.median(seconds) * 1000:.0f} ms "
                f"| {max(seconds) * 1000:.0f} ms | {len(seconds)} |",
                flush=True,
            )
        print("\nLoad average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
