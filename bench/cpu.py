"""CPU and memory of the processes under test, from their own counters (/proc), around
one measured pass: the service's process, the emulator's process group, and this
process (the no-HTTP and bare-client ceilings run their transactions here)."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from pathlib import Path

from bench.scenarios import Measurement

_TICK = os.sysconf("SC_CLK_TCK")


def _stat_seconds(path: str) -> float:
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime


def process_seconds(pid: int) -> float:
    return _stat_seconds(f"/proc/{pid}/stat")


def main_thread_seconds(pid: int) -> float:
    """The CPU of ``pid``'s main thread alone: in the service, the event loop (HTTP
    parsing, FastAPI, the route and the service up to the writer), as against the
    group-commit writer, the threadpool and the Spanner client's threads."""
    return _stat_seconds(f"/proc/{pid}/task/{pid}/stat")


def group_seconds(pgid: int) -> float:
    """A process group's CPU (the emulator: gateway_main and the emulator_main it starts)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            total += (int(fields[11]) + int(fields[12])) / _TICK
    return total


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclasses.dataclass(frozen=True)
class Watched:
    emulator_pgid: int
    service_pid: int | None = None  # None: the work runs in this process


def measured(watched: Watched, run: Callable[[], Measurement]) -> Measurement:
    """``run``'s measurement with the CPU per transfer of the service (or this process)
    and of the emulator over the pass."""

    def service() -> float:
        if watched.service_pid is None:
            return time.process_time()
        return process_seconds(watched.service_pid)

    def loop() -> float:
        return main_thread_seconds(watched.service_pid) if watched.service_pid else 0.0

    service_before, emulator_before = service(), group_seconds(watched.emulator_pgid)
    loop_before = loop()
    result = run()
    service_cpu = service() - service_before
    loop_cpu = loop() - loop_before
    emulator_cpu = group_seconds(watched.emulator_pgid) - emulator_before
    per = max(result.transfers, 1)
    return dataclasses.replace(
        result,
        service_cpu_ms=round(service_cpu * 1000 / per, 3),
        loop_cpu_ms=round(loop_cpu * 1000 / per, 3) if watched.service_pid else None,
        emulator_cpu_ms=round(emulator_cpu * 1000 / per, 3),
    )
