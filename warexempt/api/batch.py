"""The micro-batcher: concurrent ``/check`` requests decided together, in one call of the vectorised engine.

Deciding 100 cases costs about what deciding a few does (the engine's set-up dominates), so requests that arrive
together are gathered into one frame. One list of waiting items: when items are waiting and the engine is free,
the batcher lets the event loop run once more (so that requests whose bytes came in the same turn join), takes every
waiting item (at most ``max_batch``), hands them all to ``decide`` and gives each request its own result back.
While a batch is being decided the next requests wait, so under load the batches grow by themselves — no timer is
needed for that, and a lone request at rest is decided at once. When a batch comes back, the next one (the requests
that came meanwhile) is handed over *before* the answers of this one are written, so that the engine works while
the server writes: no request waits behind more than the one batch in flight. ``window`` (0 by default) makes an
idle batcher wait that long after the first item for company: fewer, larger engine calls for a trickle of
requests, at the price of that much latency.

``decide`` runs in a worker thread, or — given ``processes`` — in processes of their own (started with ``spawn``:
the engine's thread pools do not survive a ``fork``), one batch in flight per process, so that on a machine with
two cores the reading and deciding of cases runs beside the event loop instead of taking turns with it for the GIL.
Each process is spoken to over a socket pair straight from the event loop (a length and a pickle each way), with no
thread in the server: ``concurrent.futures``' two helper threads per pool cost as much as the rest of the hand-over
and, holding the GIL at the wrong moment, stalled the event loop for milliseconds. A deciding process that dies is
replaced, and its batch is decided in a thread meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import multiprocessing
import os
import pickle
import signal
import socket
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

log = logging.getLogger("warexempt.api")
Item = TypeVar("Item")
Result = TypeVar("Result")
_LENGTH = struct.Struct("!Q")
_READY = (True, None)


def settle() -> None:
    """What a process made at its start (the law, its tables, the app, the engine's caches) lives as long as the
    process: ``gc.freeze()`` moves it out of the collector's sight. Without it a full collection walks all of it —
    pauses of up to 65 ms in the server under load, each one a stall for every request waiting — for nothing."""
    gc.collect()
    gc.freeze()


def default_processes() -> int:
    """What ``warexempt serve`` uses: one deciding process beside the server's on a machine of two cores or more
    (the event loop keeps one core busy with HTTP, the engine the other), none on one core."""
    return 1 if (os.cpu_count() or 1) >= 2 else 0


@dataclass
class Stats:
    """What the batcher has done: engine calls made, items decided, the largest batch."""

    calls: int = 0
    cases: int = 0
    largest: int = 0


def _frame(value: object) -> bytes:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(data)) + data


def _serve(sock: socket.socket, decide: Callable[[Any], Any], warm: Callable[[], None] | None) -> None:
    """A deciding process: ``warm()``, "ready", then one batch after another until the server closes its end."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # (Ctrl-C is the server's to handle: this process ends with it)
    sock.setblocking(True)
    if warm is not None:
        warm()
    reader = sock.makefile("rb")
    sock.sendall(_frame(_READY))
    while True:
        head = reader.read(_LENGTH.size)
        if len(head) < _LENGTH.size:
            return
        data = reader.read(_LENGTH.unpack(head)[0])
        try:
            out = _frame((True, decide(pickle.loads(data))))
        except Exception as exc:  # the server raises it for every request of the batch
            try:
                out = _frame((False, exc))
            except Exception:
                out = _frame((False, RuntimeError(repr(exc))))
        sock.sendall(out)


class WorkerGone(Exception):
    """The deciding process ended (killed, out of memory, its start failed)."""


class _Worker:
    """One deciding process and the server's end of its socket (non-blocking, used from whichever event loop is
    running: a test client and a server bring their own)."""

    def __init__(self, decide: Callable[[Any], Any], warm: Callable[[], None] | None) -> None:
        ours, theirs = socket.socketpair()
        self.process = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(theirs, decide, warm), name="warexempt-decide", daemon=True
        )
        self.process.start()
        theirs.close()
        ours.setblocking(False)
        self.sock = ours
        self.ready = False
        self.busy = False
        self.broken = False
        self._buffer = bytearray()

    def _take(self) -> Any | None:
        """A whole message from the buffer, if one is there."""
        buf = self._buffer
        if len(buf) < _LENGTH.size:
            return None
        end = _LENGTH.size + _LENGTH.unpack_from(buf)[0]
        if len(buf) < end:
            return None
        value = pickle.loads(bytes(buf[_LENGTH.size : end]))
        del buf[:end]
        return value

    async def _read(self) -> Any:
        loop = asyncio.get_running_loop()
        while (value := self._take()) is None:
            chunk = await loop.sock_recv(self.sock, 1 << 18)
            if not chunk:
                raise EOFError
            self._buffer += chunk
        return value

    def poll_ready(self) -> bool:
        """Whether the process has said it is ready (without waiting); ``WorkerGone`` if it ended first."""
        while not self.ready:
            try:
                chunk = self.sock.recv(1 << 16)
            except BlockingIOError:
                return False
            except OSError as exc:
                raise WorkerGone from exc
            if not chunk:
                raise WorkerGone
            self._buffer += chunk
            self.ready = self._take() == _READY
        return True

    async def wait_ready(self) -> None:
        try:
            if await self._read() != _READY:
                raise WorkerGone
        except (OSError, EOFError) as exc:
            raise WorkerGone from exc
        self.ready = True

    async def call(self, items: list[Any]) -> Any:
        """``decide(items)`` in the process; ``WorkerGone`` if it ended."""
        self.busy = True
        done = False
        try:
            await asyncio.get_running_loop().sock_sendall(self.sock, _frame(items))
            ok, value = await self._read()
            done = True
        except (OSError, EOFError) as exc:
            raise WorkerGone from exc
        finally:
            self.busy = False
            self.broken = self.broken or not done  # (a call cut short leaves its answer in the socket: not reused)
        if not ok:
            raise value
        return value

    def stop(self) -> None:
        self.sock.close()  # (the process reads the end of its input and returns)
        self.process.join(5.0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5.0)


class MicroBatcher(Generic[Item, Result]):
    """``submit(item)`` → ``decide([..., item, ...])[i]``. ``decide`` must be a module-level function (or a
    ``functools.partial`` of one) when ``processes`` > 0 (it is pickled by name), ``warm`` too (run once in each new
    process)."""

    def __init__(
        self,
        decide: Callable[[Sequence[Item]], list[Result]],
        window: float = 0.0,
        max_batch: int = 512,
        *,
        processes: int = 0,
        warm: Callable[[], None] | None = None,
    ) -> None:
        self.decide = decide
        self.window = window
        self.max_batch = max_batch
        self.processes = processes
        self.warm = warm
        self.stats = Stats()
        self._workers: list[_Worker] = []
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._in_flight = 0
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    def use_processes(self, processes: int) -> None:
        """Decide in ``processes`` processes (0: in a thread) from the next start on (before the server starts)."""
        if self._workers:
            raise RuntimeError("the batcher's processes are running already")
        self.processes = processes

    def pids(self) -> list[int]:
        """The deciding processes' ids (none when deciding in threads)."""
        return [w.process.pid for w in self._workers if w.process.pid is not None]

    async def start(self) -> None:
        """Start the deciding processes and wait until they are ready (so that the first requests do not wait for
        them to import the engine and load the law); nothing to do without them. A process that cannot start (or
        whose law is not the app's) leaves the batches to threads, as without one."""
        try:
            while len(self._workers) < self.processes:
                worker = _Worker(self.decide, self.warm)
                self._workers.append(worker)
                await asyncio.wait_for(worker.wait_ready(), 300.0)
                await worker.call([])  # (the app's law: ``decide`` raises if the process loaded another)
        except Exception:
            log.exception("cannot start a process to decide /check batches; deciding them in threads")
            self.processes = 0
            self._stop_workers()

    async def submit(self, item: Item) -> Result:
        """The result of ``item``, decided with whatever other items arrive meanwhile."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # (a new event loop: what waited in the old one waits no more)
            self._loop, self._waiting, self._in_flight, self._scheduled = loop, [], 0, False
        future: asyncio.Future[Result] = loop.create_future()
        self._waiting.append((item, future))
        if not self._scheduled and self._in_flight < self._slots():
            self._scheduled = True
            if self.window > 0:
                loop.call_later(self.window, self._dispatch)
            else:
                loop.call_soon(self._dispatch)  # one more turn: requests read in the same turn join this batch
        return await future

    def _slots(self) -> int:
        return max(1, self.processes)  # batches in flight: one per deciding process

    def _dispatch(self) -> None:
        """Hand the waiting items over, a batch per free slot."""
        self._scheduled = False
        while self._waiting and self._in_flight < self._slots():
            batch, self._waiting = self._waiting[: self.max_batch], self._waiting[self.max_batch :]
            self._in_flight += 1
            task = asyncio.get_running_loop().create_task(self._decide(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _decide(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        items = [item for item, _ in batch]
        self.stats.calls += 1
        self.stats.cases += len(items)
        self.stats.largest = max(self.stats.largest, len(items))
        try:
            results = await self._call(items)
        except BaseException as exc:  # every waiting request learns of it; the batcher goes on
            self._in_flight = max(0, self._in_flight - 1)
            if isinstance(exc, Exception):
                self._dispatch()
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc if isinstance(exc, Exception) else RuntimeError(str(exc)))
            if not isinstance(exc, Exception):
                raise
            return
        self._next()  # the next batch first: the engine decides it while these answers are written
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():  # a client that went away
                future.set_result(result)

    def _next(self) -> None:
        self._in_flight = max(0, self._in_flight - 1)
        self._dispatch()

    def _free_worker(self) -> _Worker | None:
        """A ready, idle deciding process; processes that ended are replaced (ready a few seconds later)."""
        if self.processes > 0 and not self._workers:  # (an app used without its lifespan: started on first use)
            self._workers = [_Worker(self.decide, self.warm) for _ in range(self.processes)]
        for i, worker in enumerate(self._workers):
            try:
                if worker.broken or not worker.process.is_alive():
                    raise WorkerGone
                if not worker.busy and worker.poll_ready():
                    return worker
            except WorkerGone:
                if not worker.ready:  # (it never started: no more tries, threads from now on)
                    log.error("a process to decide /check batches did not start; deciding them in threads")
                    self.processes = 0
                    self._stop_workers()
                    return None
                log.error("the process deciding /check batches stopped; starting another")
                with contextlib.suppress(OSError):
                    worker.sock.close()
                self._workers[i] = _Worker(self.decide, self.warm)
        return None

    async def _call(self, items: list[Item]) -> list[Result]:
        worker = self._free_worker()
        if worker is None:
            return await asyncio.to_thread(self.decide, items)
        try:
            found: list[Result] = await worker.call(items)
            return found
        except WorkerGone:  # the deciding process died (killed, out of memory): this batch here, a new one later
            self._free_worker()
            return await asyncio.to_thread(self.decide, items)

    def _stop_workers(self) -> None:
        workers, self._workers = self._workers, []
        for worker in workers:
            worker.stop()

    async def close(self) -> None:
        """Stop the deciding processes (the server is going down)."""
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()
        self._waiting, self._in_flight, self._scheduled = [], 0, False
        await asyncio.to_thread(self._stop_workers)
