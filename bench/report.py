"""Render docs/BENCHMARKS.md and the throughput plot from one run's measurements."""

from __future__ import annotations

import itertools
import os
import platform
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: render to a file
import matplotlib.pyplot as plt

from api.config import Settings
from bench.group_stats import GroupStats
from bench.history import BARE_READ_MIX, LARGE, MAX_GROWTH, READ_MIX, SMALL, Growth
from bench.scenarios import Measurement

GROUP_ON = "HTTP, group commit on"
GROUP_OFF = "HTTP, group commit off"
BATCH = "batch endpoint"
CEILING = "no-HTTP ceiling"
BARE = "bare client ceiling"  # bench/bare.py
CHUNK = Settings.model_fields["batch_chunk_size"].default  # what the endpoint commits at once
# The transfer lifecycle, measured at one load against the plain single POSTs there.
LIFECYCLE_CLIENTS = 32
# Plain single POSTs measured right before the lifecycle passes, on the same database:
# the emulator slows as a database grows, so the baseline is taken next to them.
LIFECYCLE_PLAIN = "HTTP plain, before lifecycle"
HOLD = "HTTP hold (pending)"
HOLD_TIMEOUT = "HTTP hold with timeout"
POST_HOLD = "HTTP :post of a hold"
TRANSACTION_PLAIN = "HTTP plain, before transactions"
TRANSACTION = "HTTP 3-leg transaction"
TRANSACTION_LEGS = 3
LIFECYCLE = (
    (HOLD, '`POST /v1/transfers`, `"pending": true`'),
    (HOLD_TIMEOUT, '`"pending": true, "timeout_seconds": 3600` (expiry by Spanner\'s time)'),
    (POST_HOLD, "`POST /v1/transfers/{id}:post` of a hold made beforehand (whole amount)"),
)
MAX_COST = 1.2  # a hold or a post costs at most 1.2x a plain transfer


def _find(results: list[Measurement], scenario: str, parameter: int) -> Measurement | None:
    return next((m for m in results if m.scenario == scenario and m.parameter == parameter), None)


def _ratio(a: Measurement | None, b: Measurement | None) -> float | None:
    if a is None or b is None or not b.transfers_per_second:
        return None
    return a.transfers_per_second / b.transfers_per_second


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def plot(results: list[Measurement], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    for scenario, style in ((GROUP_ON, "o-"), (GROUP_OFF, "s--")):
        points = sorted((m.parameter, m.transfers_per_second) for m in results
                        if m.scenario == scenario)  # fmt: skip
        if points:
            ax.plot(*zip(*points, strict=True), style, label=scenario)
    for (scenario, _), marker in zip(LIFECYCLE, "^vD", strict=True):
        m = _find(results, scenario, LIFECYCLE_CLIENTS)
        if m:
            ax.plot([m.parameter], [m.transfers_per_second], marker, linestyle="none",
                    label=f"{scenario} ({m.transfers_per_second:.0f}/s)")  # fmt: skip
    ceiling = _find(results, CEILING, 32)
    if ceiling:
        label = f"no-HTTP ceiling, 32 per commit ({ceiling.transfers_per_second:.0f}/s)"
        ax.axhline(ceiling.transfers_per_second, color="grey", linestyle=":", label=label)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("concurrent clients (single-transfer POSTs)")
    ax.set_ylabel("transfers / s")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("spanner-ledger on the Spanner emulator, one uvicorn worker")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _table(results: list[Measurement], scenario: str, label: str) -> list[str]:
    rows = [m for m in results if m.scenario == scenario]
    lines = [
        f"| {label} | transfers/s | p50 ms | p99 ms | responses |",
        "|---:|---:|---:|---:|---|",
    ]
    for m in rows:
        statuses = ", ".join(f"{k}: {v}" for k, v in m.statuses.items())
        lines.append(f"| {m.parameter} | {m.transfers_per_second:,.1f} | {m.p50_ms} | "
                     f"{m.p99_ms} | {statuses} |")  # fmt: skip
    return lines


def bound_section(stats: GroupStats, ceiling32: Measurement | None) -> list[str]:
    """Why single POSTs stop short of the ceiling, from this run's group statistics."""
    per_request_ms = stats.server_latency_ms - stats.group_txn_ms
    return [
        "## What bounds single POSTs (group commit on, 32 clients)",
        "",
        "From the request logs of a separate 32-client pass (`python -m bench.group_stats`):",
        "",
        f"- {stats.transfers_per_second:,.0f} transfers/s; the writer formed groups of "
        f"{stats.mean_group} on average (median {stats.median_group}), each committed in a "
        f"median {stats.group_txn_ms} ms of Spanner time",
        f"- the writer was inside a transaction only ~{stats.writer_busy:.0%} of the time; a "
        f"request spent a median {stats.server_latency_ms} ms in the server, "
        f"~{per_request_ms:.0f} ms of it outside its group's transaction",
        "",
        "Closed-loop clients fall into step: the whole cohort rides one group, then all of",
        "its responses are written and its next requests parsed on the one event loop",
        "(uvicorn, FastAPI routing, validation, middleware, the request's log line: the",
        "*event loop* column of the CPU table below) while the writer has nothing to",
        "commit. The transaction and the HTTP work alternate instead of overlapping.",
        "",
        "Tried and measured: awaiting the group on the event loop instead of holding a",
        "threadpool thread per caller (kept: +35 %); FastAPI's native telemetry off unless",
        "`LEDGER_OTEL_ENABLED` (kept: its per-request provider check was ~14 % of the event",
        "loop); `gc.freeze()` and a larger young-generation threshold after start-up (kept:",
        "p99 ~80 ms instead of ~105 ms); smaller group caps to force two cohorts (slower);",
        "one SQL query instead of two key reads per group (20-40x slower on the emulator,",
        "whose query engine scans); returning pre-serialised JSON from the route (no gain);",
        "one FastAPI dependency per route instead of up to nine, and the routers tried",
        "hottest first (kept: in-process, POST /v1/transfers with the writer faked, 0.40-0.52",
        "-> 0.27-0.40 ms of Python per request); a group's callers answered in one",
        "event-loop callback instead of one cross-thread wake-up each (kept: 55 -> 42 us per",
        "call); the log record skipping what no line prints, and the line decoding only the",
        "headers it reads (kept: ~85 -> ~65 us per line of a request with ten headers);",
        "parsing the body with pydantic's `validate_json` past FastAPI's body handling",
        "(~0.05 ms less per request in-process, not kept: the OpenAPI body schema and the",
        "422s would have to be rebuilt by hand). Not changed: uvicorn writes a response's",
        "headers and body in two `write(2)` calls, ~14 % of the event loop with the writer",
        "faked. The request log line is in every figure (as deployed, at INFO): ~0.1 ms of",
        "the event loop per request.",
        "What would move it: less Python per request on the HTTP path, and — on real",
        "Spanner, which locks rows instead of running one read-write transaction at a",
        "time — more workers and instances writing in parallel."
        + (
            f" The ceiling at 32 per commit here was {ceiling32.transfers_per_second:,.0f}/s."
            if ceiling32
            else ""
        ),
        "",
    ]


def bare_section(results: list[Measurement]) -> list[str]:
    """The service and our own transaction code against the bare client (the limit)."""
    if not any(m.scenario == BARE for m in results):
        return []
    rows = [
        ("single POSTs, 32 clients (group commit on)", _find(results, GROUP_ON, 32), 32),
        ("no-HTTP ceiling, 32 per commit", _find(results, CEILING, 32), 32),
        ("batch endpoint, 1,000 per request", _find(results, BATCH, 1000), 1000),
        ("no-HTTP ceiling, 1,000 per commit", _find(results, CEILING, 1000), 1000),
    ]
    lines = [
        "## Against the bare google-cloud-spanner client",
        "",
        "The same logical work (read the transfer id and both accounts, update both, insert",
        "the transfer and two entries) with the fewest columns and nothing of ours in the",
        "way (bench/bare.py), on the same emulator in the same run: the physical limit here.",
        "",
        *_table(results, BARE, "per commit"),
        "",
        "| ours | transfers/s | bare client at the same size | ratio |",
        "|---|---:|---:|---:|",
    ]
    for name, ours, size in rows:
        bare = _find(results, BARE, size)
        ratio = _ratio(ours, bare)
        if ours is None or bare is None or ratio is None:
            continue
        lines.append(
            f"| {name} | {ours.transfers_per_second:,.1f} | "
            f"{bare.transfers_per_second:,.1f} | {ratio:.0%} |"
        )
    return [*lines, ""]


def _lifecycle_baseline(results: list[Measurement]) -> Measurement | None:
    return _find(results, LIFECYCLE_PLAIN, LIFECYCLE_CLIENTS) or _find(
        results, GROUP_ON, LIFECYCLE_CLIENTS
    )


def _cost(plain: Measurement | None, m: Measurement | None) -> float | None:
    """What one lifecycle call costs in plain transfers: plain throughput / its own."""
    ratio = _ratio(plain, m)
    return None if ratio is None or m is None or not m.transfers else ratio


def lifecycle_targets(
    results: list[Measurement], verdict: Callable[[bool | None], str]
) -> list[str]:
    plain = _lifecycle_baseline(results)
    rows = []
    for scenario, _ in LIFECYCLE:
        m = _find(results, scenario, LIFECYCLE_CLIENTS)
        cost = _cost(plain, m)
        if m is None or plain is None or cost is None:
            rows.append(f"| {scenario} at {LIFECYCLE_CLIENTS} clients | n/a | |")
            continue
        rows.append(
            f"| {scenario} at {LIFECYCLE_CLIENTS} clients costs ≤ {MAX_COST}x a plain "
            f"transfer (plain ÷ its throughput) | {cost:.2f}x ({m.transfers_per_second:,.0f} "
            f"vs {plain.transfers_per_second:,.0f}/s) | {verdict(cost <= MAX_COST)} |"
        )
    return rows


def lifecycle_section(
    results: list[Measurement], verdict: Callable[[bool | None], str]
) -> list[str]:
    plain = _lifecycle_baseline(results)
    lines = [
        f"## The transfer lifecycle ({LIFECYCLE_CLIENTS} clients, group commit on)",
        "",
        "Holds and posts ride the same group commit as plain transfers. Each row is its own",
        f"{LIFECYCLE_CLIENTS}-client pass of this run; *cost* is the plain single POSTs' "
        "throughput at",
        f"{LIFECYCLE_CLIENTS} clients (first row: a pass run right before the lifecycle passes, "
        "on the same database, since the emulator slows as a database grows) divided by the "
        f"row's: the target is ≤ {MAX_COST}x.",
        "",
        f"| what | transfers/s | p50 ms | p99 ms | vs plain | cost | ≤ {MAX_COST}x | responses |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    if plain:
        statuses = ", ".join(f"{k}: {v}" for k, v in plain.statuses.items())
        lines.append(f"| plain transfer (`POST /v1/transfers`) | "
                     f"{plain.transfers_per_second:,.1f} | {plain.p50_ms} | {plain.p99_ms} | "
                     f"1.00 | 1.00x | | {statuses} |")  # fmt: skip
    for scenario, what in LIFECYCLE:
        m = _find(results, scenario, LIFECYCLE_CLIENTS)
        if m is None:
            continue
        share, cost = _ratio(m, plain), _cost(plain, m)
        statuses = ", ".join(f"{k}: {v}" for k, v in m.statuses.items())
        lines.append(
            f"| {scenario}: {what} | {m.transfers_per_second:,.1f} | {m.p50_ms} | "
            f"{m.p99_ms} | {'n/a' if share is None else f'{share:.2f}'} | "
            f"{'n/a' if cost is None else f'{cost:.2f}x'} | "
            f"{verdict(None if cost is None else cost <= MAX_COST)} | {statuses} |"
        )
    post = _find(results, POST_HOLD, LIFECYCLE_CLIENTS)
    lines += [
        "",
        "A hold writes what a plain transfer writes (the accounts' pending totals instead of",
        "the posted ones, one entry per leg, the transfer row); a hold with a timeout also",
        "fills the sharded expiry index; Spanner's time comes from bounds on the commits the",
        "worker has seen (api/spanner/clock.py), not from a query. A :post reads what a",
        "plain transfer reads (the transfer ids, then both accounts) and updates the hold",
        "instead of inserting a transfer.",
    ]
    if post:
        lines.append(
            f"The :post pass sent {post.transfers:,} posts in {post.seconds:g} s, each hold "
            "posted once (a client stops if the holds run out)."
        )
    lines.append("")
    return lines


def _transaction_pair(results: list[Measurement]) -> tuple[Measurement, Measurement] | None:
    plain = _find(results, TRANSACTION_PLAIN, LIFECYCLE_CLIENTS)
    legs = _find(results, TRANSACTION, LIFECYCLE_CLIENTS)
    return (plain, legs) if plain and legs and plain.transfers_per_second else None


def transaction_target(
    results: list[Measurement], verdict: Callable[[bool | None], str]
) -> list[str]:
    pair = _transaction_pair(results)
    if pair is None:
        return [f"| 3-leg transactions at {LIFECYCLE_CLIENTS} clients | n/a | |"]
    plain, legs = pair
    per_second = legs.transfers_per_second / TRANSACTION_LEGS
    floor = plain.transfers_per_second / TRANSACTION_LEGS
    return [
        f"| 3-leg transactions/s at {LIFECYCLE_CLIENTS} clients ≥ single transfers/s ÷ 3 | "
        f"{per_second:,.0f} vs {floor:,.0f}/s ({per_second / floor:.2f}x) | "
        f"{verdict(per_second >= floor)} |"
    ]


def transaction_section(results: list[Measurement]) -> list[str]:
    pair = _transaction_pair(results)
    if pair is None:
        return []
    plain, legs = pair
    rows = []
    for m, what in ((plain, "single transfers (`POST /v1/transfers`)"),
                    (legs, "3-leg transactions (`POST /v1/transactions`)")):  # fmt: skip
        per = TRANSACTION_LEGS if m is legs else 1
        statuses = ", ".join(f"{k}: {v}" for k, v in m.statuses.items())
        rows.append(
            f"| {what} | {m.transfers_per_second / per:,.1f} | {m.transfers_per_second:,.1f} | "
            f"{m.p50_ms} | {m.p99_ms} | {statuses} |"
        )
    return [
        f"## Multi-leg transactions ({LIFECYCLE_CLIENTS} clients, group commit on)",
        "",
        "A purchase: buyer to merchant, buyer to tax, merchant to fees, as one",
        "`POST /v1/transactions`, against single transfers in a pass run right before it on",
        "the same database. A transaction is one request and rides group commit like a",
        "transfer; its three legs are three transfers in the same commit. Target: at least",
        "the single transfers' rate ÷ 3 transactions per second.",
        "",
        "| what | requests/s | transfers/s | p50 ms | p99 ms | responses |",
        "|---|---:|---:|---:|---:|---|",
        *rows,
        "",
    ]


MAX_READ_P99_MS = 50


def history_targets(
    results: list[Measurement], growth: list[Growth], verdict: Callable[[bool | None], str]
) -> list[str]:
    rows = [
        f"| {g.read} of an account with {LARGE:,} entries within {MAX_GROWTH:g}x of one with "
        f"{SMALL:,} | {g.ratio:.2f}x ({g.large_ms:.1f} vs {g.small_ms:.1f} ms) | "
        f"{verdict(g.met)} |"
        for g in growth
    ]
    mix = _find(results, READ_MIX, LIFECYCLE_CLIENTS)
    bare = _find(results, BARE_READ_MIX, LIFECYCLE_CLIENTS)
    if mix is not None and bare is not None and bare.transfers_per_second:
        rows.append(
            f"| read mix at {LIFECYCLE_CLIENTS} clients vs the bare client's same reads | "
            f"{mix.transfers_per_second / bare.transfers_per_second:.0%} "
            f"({mix.transfers_per_second:,.0f} vs {bare.transfers_per_second:,.0f} reads/s; "
            f"bare p99 {bare.p99_ms} ms) | |"
        )
    if mix is not None:
        rows.append(
            f"| read mix at {LIFECYCLE_CLIENTS} clients, p99 ≤ {MAX_READ_P99_MS} ms | "
            f"{mix.p99_ms} ms ({mix.transfers_per_second:,.0f} reads/s) | "
            f"{verdict(mix.p99_ms <= MAX_READ_P99_MS)} |"
        )
    return rows


def history_section(results: list[Measurement], growth: list[Growth]) -> list[str]:
    mix = _find(results, READ_MIX, LIFECYCLE_CLIENTS)
    bare = _find(results, BARE_READ_MIX, LIFECYCLE_CLIENTS)
    lines = [
        "## Reading history",
        "",
        f"The same reads of an account with {SMALL:,} entries and one with {LARGE:,} (median "
        "of 40 sequential requests each, alternated; bench/history.py): a seek costs the "
        "same whatever lies around it, a scan would grow 100x. Short ranges hold 100 "
        "entries (a statement) or 50 (a page) in the middle of the history; long ones are "
        "its first half. A statement is the last entry before either bound (each entry "
        "carries the posted totals after it, spanner_ddl/0015); a page in a range, its "
        "two bounds and then the page by sequence. `python -m bench.history` runs this "
        "part alone.",
        "",
        f"| read | {SMALL:,} entries, ms | {LARGE:,} entries, ms | ratio |",
        "|---|---:|---:|---:|",
        *(f"| {g.read} | {g.small_ms} | {g.large_ms} | {g.ratio:.2f}x |" for g in growth),
        "",
    ]
    if mix is not None:
        statuses = ", ".join(f"{k}: {v}" for k, v in mix.statuses.items())
        lines += [
            f"Read mix, {LIFECYCLE_CLIENTS} clients, each in turn: balances of 100 accounts, a "
            "page of 50 entries, a transfer query by account (50):",
            "",
            "| reads/s | p50 ms | p99 ms | responses |",
            "|---:|---:|---:|---|",
            f"| {mix.transfers_per_second:,.1f} | {mix.p50_ms} | {mix.p99_ms} | {statuses} |",
            "",
        ]
    if bare is not None:
        lines += [
            f"The bare google-cloud-spanner client doing the same reads ({LIFECYCLE_CLIENTS} "
            "threads, fewest columns, entries by exact sequence range), in the same run: "
            f"{bare.transfers_per_second:,.1f} reads/s, p50 {bare.p50_ms} ms, p99 "
            f"{bare.p99_ms} ms.",
            "",
        ]
    return lines


def load_generator_section(client_cpu: dict[str, float]) -> list[str]:
    rows = [f"| {name} | {ms:.3f} |" for name, ms in client_cpu.items()]
    return [
        "## Load generator",
        "",
        "Client, server and emulator share the 2 cores, so every CPU-millisecond the client",
        "spends is taken from the ledger. The benchmark uses bench/httpclient.py, a minimal",
        "asyncio HTTP/1.1 keep-alive client (pre-encoded requests, only status and",
        "Content-Length parsed), in one process with one coroutine per client. Measured in",
        "this run (`python -m bench.cpu_per_request`, GET /healthz, 16 connections):",
        "",
        "| client | client CPU ms per request |",
        "|---|---:|",
        *rows,
        "",
        "wrk would cost less still, but needs a system package that `make bench` could not",
        "install without root; the minimal client's cost is small next to the server's.",
        "",
    ]


RSS_TARGET_MIB = 150.0
COLD_START_TARGET_MS = 1500.0
# (ours, its parameter, what it is, bare client's parameter, most ours may cost, x)
CPU_TARGETS = (
    (GROUP_ON, 1, "single POSTs, 1 connection", 1, 1.3),
    (GROUP_ON, 32, "single POSTs, 32 connections", 32, 2.0),
    (BATCH, 1000, "batches of 1,000", 1000, 1.5),
)


def bare_targets(results: list[Measurement], verdict: Callable[[bool | None], str]) -> list[str]:
    """Throughput against the physical limit here: the bare client at the same size."""
    rows = []
    for scenario, parameter, what, least in (
        (GROUP_ON, 32, "single POSTs at 32 clients", 0.70),
        (BATCH, 1000, "batch endpoint, 1,000 per request", 0.85),
    ):
        ours, bare = _find(results, scenario, parameter), _find(results, BARE, parameter)
        if not (ours and bare and bare.transfers_per_second):
            rows.append(f"| {what} vs the bare client | n/a | |")
            continue
        ratio = ours.transfers_per_second / bare.transfers_per_second
        rows.append(
            f"| {what} ≥ {least:.0%} of the bare client at {parameter} per commit | "
            f"{ratio:.0%} ({ours.transfers_per_second:,.0f} vs "
            f"{bare.transfers_per_second:,.0f}/s) | {verdict(ratio >= least)} |"
        )
    return rows


def _latency_floor(results: list[Measurement]) -> str:
    """What the emulator allows 32 closed-loop clients: each waits, on average, 32 over
    the best rate (Little's law), at the bare client's rate at 32 per commit."""
    bare = _find(results, BARE, 32)
    if bare is None or not bare.transfers_per_second:
        return ""
    floor = 32_000 / bare.transfers_per_second
    return (f" (the bare client at 32 per commit: p99 {bare.p99_ms} ms; 32 closed-loop "
            f"clients at its rate wait {floor:.0f} ms on average)")  # fmt: skip


def cpu_targets(results: list[Measurement], verdict: Callable[[bool | None], str]) -> list[str]:
    rows = []
    for scenario, parameter, what, bare_parameter, most in CPU_TARGETS:
        ours, bare = _find(results, scenario, parameter), _find(results, BARE, bare_parameter)
        if not (ours and bare and ours.service_cpu_ms and bare.service_cpu_ms):
            rows.append(f"| service CPU per transfer, {what} | n/a | |")
            continue
        ratio = ours.service_cpu_ms / bare.service_cpu_ms
        rows.append(
            f"| service CPU per transfer, {what} ≤ {most:g}x the bare client at "
            f"{bare_parameter} per commit | {ratio:.3f}x ({ours.service_cpu_ms:.2f} vs "
            f"{bare.service_cpu_ms:.2f} ms) | {verdict(ratio <= most)} |"
        )
    return rows


def resources_targets(
    rss_mib: float | None, cold_ms: float | None, verdict: Callable[[bool | None], str]
) -> list[str]:
    rows = []
    if rss_mib is not None:
        rows.append(f"| RSS of the worker after the 64-client load (peak) ≤ "
                    f"{RSS_TARGET_MIB:.0f} MiB | {rss_mib:.0f} MiB | "
                    f"{verdict(rss_mib <= RSS_TARGET_MIB)} |")  # fmt: skip
    if cold_ms is not None:
        rows.append(f"| cold start, `uvicorn main:app` to the first 200 on /readyz ≤ 1.5 s "
                    f"(median of 5) | {cold_ms:,.0f} ms | "
                    f"{verdict(cold_ms <= COLD_START_TARGET_MS)} |")  # fmt: skip
    return rows


def cpu_section(results: list[Measurement]) -> list[str]:
    """Where the CPU goes, per transfer, and what it says about sizing Cloud Run."""
    lines = [
        "## CPU per transfer",
        "",
        "From each process's own counters (/proc: user + system time) over each pass,",
        "divided by the transfers it committed: the service's uvicorn worker (for the",
        "no-HTTP and bare-client ceilings: the benchmark process, which runs their",
        "transactions) and the emulator (gateway and emulator_main). *Of it, event loop*:",
        "the worker's main thread alone (HTTP parsing, FastAPI, the route, the service up",
        "to the group-commit writer); the rest is the writer, the threadpool and the",
        "Spanner client's threads - the transaction itself.",
        "",
        "| what | per | transfers/s | service CPU ms | of it, event loop ms | emulator CPU ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for m in results:
        if m.service_cpu_ms is None:
            continue
        loop = "" if m.loop_cpu_ms is None else f"{m.loop_cpu_ms:.2f}"
        lines.append(
            f"| {m.scenario} | {m.parameter} | {m.transfers_per_second:,.1f} "
            f"| {m.service_cpu_ms:.2f} | {loop} | {m.emulator_cpu_ms or 0:.2f} |"
        )
    gc32 = _find(results, GROUP_ON, 32)
    if gc32 and gc32.service_cpu_ms:
        per_vcpu = 1000 / gc32.service_cpu_ms
        lines += [
            "",
            f"Sizing Cloud Run from this run: at 32 concurrent requests a worker spends "
            f"{gc32.service_cpu_ms:.2f} ms of CPU per transfer, about **{per_vcpu:,.0f} "
            "transfers per vCPU-second** of the service's own work (Spanner's CPU is "
            "Spanner's). For a target rate R, give the service R / "
            f"{per_vcpu:,.0f} vCPUs with headroom (Cloud Run scales at ~60 % CPU): one "
            "worker per vCPU (`uvicorn --workers` = `cpu`), concurrency 80, a pool or "
            "multiplexed sessions per worker as docs/OPERATIONS.md says. Here the "
            "emulator, which runs one read-write transaction at a time, bounds the rate long "
            "before the service's CPU does; on Cloud Spanner the worker's CPU is the bound.",
        ]
    return [*lines, ""]


def render(
    results: list[Measurement],
    *,
    seconds: float,
    plot_name: str,
    stats: GroupStats | None,
    client_cpu: dict[str, float] | None,
    growth: list[Growth] | None = None,
    rss_mib: float | None = None,
    cold_ms: float | None = None,
) -> str:
    gc32, ceil32 = _find(results, GROUP_ON, 32), _find(results, CEILING, 32)
    b1000, ceil1000 = _find(results, BATCH, 1000), _find(results, CEILING, 1000)
    on = sorted((m.parameter, m.transfers_per_second) for m in results if m.scenario == GROUP_ON)
    never_falls = all(b[1] >= a[1] for a, b in itertools.pairwise(on))
    http_5xx = sum(
        v
        for m in results
        if m.scenario not in (CEILING, BARE)
        for k, v in m.statuses.items()
        if k >= "500"
    )
    r32, r1000 = _ratio(gc32, ceil32), _ratio(b1000, ceil1000)
    ceil_chunk = _find(results, CEILING, CHUNK)
    r_chunk = _ratio(b1000, ceil_chunk)

    def verdict(ok: bool | None) -> str:
        return "n/a" if ok is None else ("met" if ok else "**not met**")

    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m bench`); do not edit by hand. Every figure below",
        "comes from one run on one machine, so compare **ratios within the run**: these",
        "shared 2-core machines drift by 2x between runs.",
        "",
        f"- when: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit `{_commit()}`",
        f"- machine: {_cpu()}, {os.cpu_count()} cores; Spanner emulator "
        "(gcloud SDK), one uvicorn worker, load generator on the same machine",
        f"- each point: closed-loop clients for {seconds:g} s after a warm-up; 200 accounts,",
        "  random pairs, unique transfer ids",
        "- load generator: bench/httpclient.py, a minimal asyncio HTTP/1.1 keep-alive",
        '  client in one process (see "Load generator" below for why)',
        "",
        "## Targets (ratios from this run)",
        "",
        "| target | measured | |",
        "|---|---|---|",
        f"| single POSTs at 32 clients ≥ 70 % of the no-HTTP ceiling at 32 per commit | "
        f"{r32:.0%} ({gc32.transfers_per_second:,.0f} vs {ceil32.transfers_per_second:,.0f}/s) | "
        f"{verdict(r32 >= 0.70)} |"
        if r32 is not None and gc32 and ceil32
        else "| single POSTs at 32 clients | n/a | |",
        f"| p99 at 32 clients ≤ 100 ms (group commit on) | "
        f"{gc32.p99_ms} ms{_latency_floor(results)} | {verdict(gc32.p99_ms <= 100)} |"
        if gc32
        else "| p99 at 32 clients | n/a | |",
        f"| throughput never falls from 1 to 64 clients (group commit on) | "
        f"{' → '.join(f'{t:,.0f}' for _, t in on)} | {verdict(never_falls)} |",
        f"| batch endpoint, 1,000 per request ≥ 85 % of the ceiling at 1,000 per commit | "
        f"{r1000:.0%} ({b1000.transfers_per_second:,.0f} vs "
        f"{ceil1000.transfers_per_second:,.0f}/s) | {verdict(r1000 >= 0.85)} |"
        if r1000 is not None and b1000 and ceil1000
        else "| batch 1,000 | n/a | |",
        f"| the same batches vs the ceiling at the endpoint's chunk size ({CHUNK} per commit) | "
        f"{r_chunk:.0%} ({b1000.transfers_per_second:,.0f} vs "
        f"{ceil_chunk.transfers_per_second:,.0f}/s) | {verdict(r_chunk >= 0.85)} |"
        if r_chunk is not None and b1000 and ceil_chunk
        else "| batch vs chunk | n/a | |",
        *bare_targets(results, verdict),
        *lifecycle_targets(results, verdict),
        *transaction_target(results, verdict),
        *history_targets(results, growth or [], verdict),
        *cpu_targets(results, verdict),
        *resources_targets(rss_mib, cold_ms, verdict),
        f"| no 5xx responses | {http_5xx} | {verdict(http_5xx == 0)} |",
        "",
        f"A 1,000-transfer request is committed in chunks of {CHUNK} "
        "(`LEDGER_BATCH_CHUNK_SIZE`): on the emulator one commit's cost grows faster than",
        "its size (see the ceiling table), so chunking beats the 1,000-per-commit ceiling.",
        "",
        f"![throughput vs clients]({plot_name})",
        "",
        *(bound_section(stats, ceil32) if stats else []),
        *lifecycle_section(results, verdict),
        *transaction_section(results),
        *history_section(results, growth or []),
        "## Single-transfer POSTs, group commit on",
        "",
        *_table(results, GROUP_ON, "clients"),
        "",
        "## Single-transfer POSTs, group commit off (one transaction per request)",
        "",
        *_table(results, GROUP_OFF, "clients"),
        "",
        "## Batch endpoint (`POST /v1/transfers:batch`, atomic=false, one client)",
        "",
        *_table(results, BATCH, "per request"),
        "",
        "## No-HTTP ceiling (the same transaction code called directly, one at a time)",
        "",
        *_table(results, CEILING, "per commit"),
        "",
        "Latency columns of the ceiling are per transaction.",
        "",
        *bare_section(results),
        *cpu_section(results),
        *(load_generator_section(client_cpu) if client_cpu else []),
    ]
    return "\n".join(lines)
