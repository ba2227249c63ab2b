"""The HTTP API under load (issue 12, item 2), loopback only, bounded in count and time.

``section(quick, out, log)``: uvicorn serving ``warexempt.api.app.create_app`` in a child process on 127.0.0.1;

- ``/check`` from 100 concurrent clients (raw HTTP/1.1 keep-alive connections, a bare asyncio protocol on uvloop,
  so that the client costs little of the 2 cores it shares with the server), each sending varied cases one after
  another, until a fixed number of requests or a time limit; every answer is compared byte for byte with the
  in-process answer of its case; checks per second and p99 latency. Targets: ≥ 2,000 checks/s, p99 ≤ 50 ms.
- a ``/bulk`` job on a 1M-row CSV (``--quick``: 100k), from the upload to the job's "done", against ``warexempt
  bulk`` on the same file; target: within 2×.

The machine is shared, so beside the wall-clock figures each run reports CPU time: per request in the server's
process and in its deciding processes (from ``/proc``), in the client, and how many cores everything else on the
machine used meanwhile (``/proc/stat`` less the benchmark's own processes) — a slow run on a busy machine shows as
such. The client's start-up objects are frozen out of its garbage collector's sight (``gc.freeze``) before the
timed run, so that a collection in the client does not pass for the server's latency.

Run alone: ``python benchmarks/api.py [--quick] [--check]`` (``--check``: the ``/check`` rows only).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import uvloop
from bulk import DEFAULT_AS_OF, Target, cases_frame, cli_run, rows_label, verdict

CLIENTS = 100
TARGET_RATE = 2000.0
TARGET_P99_MS = 50.0
BULK_WITHIN = 2.0
# The same HTTP stack with nothing behind it (one empty FastAPI route on uvicorn): the ceiling any route can reach
# on this machine at this moment, measured beside the real one so that the table shows what the stack itself costs.
BARE = """
import sys, uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response
app = FastAPI()
@app.post("/api/v1/check")
async def check(request: Request) -> Response:
    await request.body()
    return Response(b"{}", media_type="application/json")
@app.get("/api/v1/timeline")
async def ready() -> Response:
    return Response(b"[]", media_type="application/json")
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""
# The API as ``warexempt serve`` runs it (uvicorn with httptools and uvloop, no access log, /check's batches
# decided in ``default_processes()`` processes beside the server's), without the pages.
SERVER = """
import sys, uvicorn
from pathlib import Path
from warexempt.api.app import create_app
from warexempt.api.batch import default_processes
app = create_app(jobs_dir=Path(sys.argv[2]), decide_processes=default_processes())
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""
CHARGES = [["158:3:в"], ["161:2"], ["228:2"], ["158:2", "159:3"], ["111:1"], ["205:2"], ["105:1"], ["162:2"]]
STAGES = ["pre_trial", "trial", "appeal", "sentenced"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bodies(n: int, seed: int = 12) -> list[bytes]:
    """``n`` varied cases as request bodies: charges, stages, contract and petition dates, as-of dates."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        contract = f"2024-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}"
        events = [{"date": contract, "kind": "contract_signed"}]
        if rnd.random() < 0.7:
            events.append(
                {"date": f"2025-{rnd.randint(1, 6):02d}-{rnd.randint(1, 28):02d}", "kind": "command_petition"}
            )
        case = {
            "case_id": f"b{i}",
            "charges": rnd.choice(CHARGES),
            "stage": rnd.choice(STAGES),
            "events": events,
            "as_of": f"2025-{rnd.randint(7, 12):02d}-{rnd.randint(1, 28):02d}",
        }
        out.append(json.dumps(case).encode())
    return out


class Server:
    """uvicorn with the API in a child process; stopped on exit."""

    def __init__(self, jobs: Path, code: str = SERVER) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, str(self.port), str(jobs)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stderr.read().decode() if self.proc.stderr else ''}")
            try:
                httpx.get(self.url + "/api/v1/timeline", timeout=2).raise_for_status()
                return self
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError("server did not start in 60 s")

    def __exit__(self, *_: object) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class _Client(asyncio.Protocol):
    """One keep-alive connection sending its requests one after another until they run out or time is up; each
    answer read to its last byte (by ``Content-Length``) and compared with the answer expected for its body.

    A bare protocol on the event loop rather than streams or httpx: the client shares the 2 cores with the server,
    so the cheaper it is the more of them the server gets, and what is measured is the server."""

    def __init__(
        self, work: list[tuple[bytes, bytes]], stop_at: float, latencies: list[float], failures: list[str]
    ) -> None:
        self.work = work
        self.stop_at = stop_at
        self.latencies = latencies
        self.failures = failures
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.next = 0
        self.buffer = b""
        self.started = 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # (uvloop's transports are not asyncio's classes)
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        if self.next >= len(self.work) or time.monotonic() > self.stop_at:
            self.transport.close()
            return
        self.started = time.perf_counter()
        self.transport.write(self.work[self.next][0])

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buffer[:end].decode("latin-1").split("\r\n")
        length = next((int(v) for k, _, v in (h.partition(":") for h in head[1:]) if k.lower() == "content-length"), 0)
        if len(self.buffer) < end + 4 + length:
            return
        self.latencies.append(time.perf_counter() - self.started)
        body, self.buffer = self.buffer[end + 4 : end + 4 + length], self.buffer[end + 4 + length :]
        if not head[0].startswith("HTTP/1.1 200"):
            self.failures.append(head[0])
        elif body != self.work[self.next][1]:
            self.failures.append(f"a wrong answer: {body[:120]!r}")
        self.next += 1
        self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.next < len(self.work) and time.monotonic() <= self.stop_at:
            self.failures.append(f"connection lost after {self.next} requests: {exc}")
        if not self.done.done():
            self.done.set_result(None)


def _itself(client: _Client) -> Callable[[], _Client]:
    return lambda: client


def request(body: bytes) -> bytes:
    head = (
        f"POST /api/v1/check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def expected_answers(pool: list[bytes]) -> dict[bytes, bytes]:
    """What the server must answer for each body: the in-process answer of the same case (``services.check``, the
    facade's rules path), serialised as the API serialises it."""
    from warexempt.api.check import dumps
    from warexempt.api.services import check

    return {body: dumps(check(json.loads(body))) for body in pool}


def load(
    port: int, requests: int, limit_s: float, expected: dict[bytes, bytes] | None = None, clients: int = CLIENTS
) -> tuple[int, float, list[float], list[str]]:
    """``requests`` checks from ``clients`` connections at once (or fewer if ``limit_s`` runs out); every answer
    compared with ``expected`` (by default the in-process answers of the bodies)."""
    pool = bodies(500)
    answers = expected if expected is not None else expected_answers(pool)
    wire = {body: request(body) for body in pool}
    per = [
        [(wire[b], answers[b]) for b in (pool[(c * 7919 + k) % len(pool)] for k in range(requests // clients))]
        for c in range(clients)
    ]
    latencies: list[float] = []
    failures: list[str] = []
    gc.collect()
    gc.freeze()

    async def run() -> float:
        loop = asyncio.get_running_loop()
        stop_at = time.monotonic() + limit_s
        started = time.perf_counter()
        conns = [_Client(w, stop_at, latencies, failures) for w in per]
        await asyncio.gather(*(loop.create_connection(_itself(c), "127.0.0.1", port) for c in conns))
        try:  # (a server that stops answering must not hang the benchmark)
            await asyncio.wait_for(asyncio.gather(*(c.done for c in conns)), limit_s + 30.0)
        except TimeoutError:
            for c in conns:
                if not c.done.done() and c.transport is not None:
                    failures.append(f"no answer within {limit_s + 30.0:.0f} s after {c.next} requests")
                    c.transport.abort()
        return time.perf_counter() - started

    wall = uvloop.run(run())
    return len(latencies), wall, sorted(latencies), failures


def _tick() -> int:
    return os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_split(pid: int) -> tuple[float, float]:
    """CPU time (user + system) so far of a process, and of all its descendants (the deciding processes), from
    ``/proc`` (0 elsewhere): what the server cost, whatever else the shared machine was running meanwhile."""
    own, children, todo, tick = 0.0, 0.0, [pid], _tick()
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            spent = (int(fields[11]) + int(fields[12])) / tick
            if p == pid:
                own = spent
            else:
                children += spent
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, IndexError, ValueError):
            continue
    return own, children


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and all its descendants so far (``cpu_split``, summed)."""
    return sum(cpu_split(pid))


def machine_busy() -> float:
    """CPU seconds every process on the machine has used so far (``/proc/stat``; 0 elsewhere)."""
    try:
        ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    return (sum(ticks) - ticks[3] - ticks[4]) / _tick()  # (all but idle and iowait)


def percentile(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(p * len(values)))] if values else float("nan")


def bulk_job(url: str, src: Path, limit_s: float) -> tuple[float, dict[str, object]]:
    """Upload ``src`` to ``/bulk`` and wait for the job; the seconds from the upload's start to "done"."""
    started = time.perf_counter()
    with httpx.Client(base_url=url, timeout=limit_s) as client, src.open("rb") as fh:
        res = client.post(
            "/api/v1/bulk", files={"file": (src.name, fh, "text/csv")}, data={"as_of": DEFAULT_AS_OF.isoformat()}
        )
        res.raise_for_status()
        location = res.headers["location"]
        while time.perf_counter() - started < limit_s:
            job: dict[str, object] = client.get(location).json()
            if job["status"] in ("done", "failed"):
                return time.perf_counter() - started, job
            time.sleep(0.05)
    raise RuntimeError(f"the /bulk job did not finish in {limit_s:.0f} s")


def check_rows(
    server: Server, requests: int, limit_s: float, answers: dict[bytes, bytes], log: Callable[[str], None]
) -> list[Target]:
    """The ``/check`` rows: throughput, p99 latency, CPU per request (see the module's docstring)."""
    rows_out: list[Target] = []
    load(server.port, 400, 20.0, answers)  # warm-up: imports, caches, the first frames
    (own_before, kids_before), client_before = cpu_split(server.proc.pid), time.process_time()
    machine_before = machine_busy()
    done, wall, lat, failures = load(server.port, requests, limit_s, answers)
    own_after, kids_after = cpu_split(server.proc.pid)
    client_s = time.process_time() - client_before
    ours = own_after - own_before + kids_after - kids_before + client_s
    others = max(0.0, (machine_busy() - machine_before - ours) / wall) if wall > 0 else 0.0
    per = 1e6 / max(1, done)
    own_us, kids_us, client_us = (own_after - own_before) * per, (kids_after - kids_before) * per, client_s * per
    rate = done / wall if wall > 0 else 0.0
    p50, p90, p99 = (percentile(lat, p) * 1000 for p in (0.50, 0.90, 0.99))
    log(
        f"api /check: {done:,} requests in {wall:.2f} s from {CLIENTS} clients; p50 {p50:.1f} ms, p90 {p90:.1f} ms; "
        f"{len(failures)} failed or wrong; other processes used {others:.2f} cores meanwhile"
    )
    if failures:
        log(f"api /check: the first failure: {failures[0]}")
    note = f"{done:,} requests, {CLIENTS} clients" + (f", {len(failures)} failed or wrong" if failures else "")
    rows_out.append(
        Target(
            f"api /check throughput ({note})",
            f"{rate:,.0f} checks/s",
            f"≥ {TARGET_RATE:,.0f}/s",
            f"{rate / TARGET_RATE:.2f}× of target",
            verdict(rate >= TARGET_RATE and not failures),
        )
    )
    rows_out.append(
        Target(
            f"api /check p99 latency (p50 {p50:.1f} ms, p90 {p90:.1f} ms)",
            f"{p99:.1f} ms",
            f"≤ {TARGET_P99_MS:.0f} ms",
            f"{p99 / TARGET_P99_MS:.2f}× of limit",
            verdict(p99 <= TARGET_P99_MS),
        )
    )
    rows_out.append(
        Target(
            f"api /check CPU per request: the server, all its processes ({own_us:.0f} µs in the server's, "
            f"{kids_us:.0f} µs deciding; the client: {client_us:.0f} µs; other processes used {others:.2f} of "
            f"{os.cpu_count()} cores meanwhile)",
            f"{own_us + kids_us:.0f} µs",
            result="info",
        )
    )
    return rows_out


def bare_row(pool: list[bytes], requests: int, limit_s: float, jobs: Path) -> Target:
    """The same clients against an empty FastAPI route (``BARE``)."""
    with Server(jobs, BARE) as bare:
        empty = dict.fromkeys(pool, b"{}")
        load(bare.port, 400, 20.0, empty)
        n, wall_bare, lat_bare, _ = load(bare.port, requests, limit_s, empty)
    bare_rate = n / wall_bare if wall_bare > 0 else 0.0
    return Target(
        "HTTP stack alone: an empty FastAPI route on uvicorn (httptools, uvloop), same clients",
        f"{bare_rate:,.0f} req/s, p99 {percentile(lat_bare, 0.99) * 1000:.1f} ms",
        result="info",
    )


def section(quick: bool, out: Path, log: Callable[[str], None], bulk: bool = True) -> list[Target]:
    out.mkdir(parents=True, exist_ok=True)
    requests, limit_s = (2_000, 30.0) if quick else (20_000, 60.0)
    rows = 100_000 if quick else 1_000_000
    jobs = Path(tempfile.mkdtemp(prefix="warexempt-bench-jobs-", dir=out))
    pool = bodies(500)
    answers = expected_answers(pool)
    src = out / f"api_cases_{rows}.csv"
    with Server(jobs) as server:
        rows_out = check_rows(server, requests, limit_s, answers, log)
        if bulk:
            if not src.exists():
                cases_frame(rows).sink_csv(src)
            api_s, job = bulk_job(server.url, src, 600.0)
            log(f"api /bulk {rows:,} rows: {api_s:.2f} s, job {job.get('status')}: {job.get('rows_decided')} decided")
    rows_out.append(bare_row(pool, requests, limit_s, jobs))
    if not bulk:
        return rows_out
    cli = Path(sys.executable).with_name("warexempt")
    run = cli_run("cli bulk", src, rows, out / "api_cli_out.csv", DEFAULT_AS_OF, 1, 600.0, cli)
    if not run.ok or job.get("status") != "done":
        why = run.note if not run.ok else str(job.get("error"))
        rows_out.append(Target(f"api /bulk {rows_label(rows)} CSV rows vs CLI bulk", f"failed ({why})", result="FAIL"))
        return rows_out
    ratio = api_s / run.wall
    rows_out.append(
        Target(
            f"api /bulk {rows_label(rows)} CSV rows, upload to done (CLI bulk {run.wall:.2f} s)",
            f"{api_s:.2f} s",
            f"≤ {BULK_WITHIN:g}× CLI",
            f"{ratio:.2f}× CLI",
            verdict(ratio <= BULK_WITHIN),
        )
    )
    return rows_out


def main() -> None:
    quick = "--quick" in sys.argv
    out = Path(os.environ.get("BENCH_OUT", tempfile.mkdtemp(prefix="warexempt-bench-api-")))
    for row in section(quick, out, print, bulk="--check" not in sys.argv):
        print(f"| {row.measure} | {row.figure} | {row.target} | {row.ratio} | {row.result} |")


if __name__ == "__main__":
    main()
