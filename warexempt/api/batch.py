"""The micro-batcher: concurrent ``/check`` requests decided together, in one call of the vectorised engine.

Deciding 100 cases costs about what deciding a few does (the engine's set-up dominates), so requests that arrive
together are gathered into one frame. One list of waiting items, one loop: when items are waiting and the engine
is free, the loop lets the event loop run once more (so that requests whose bytes came in the same turn join), takes
every waiting item (at most ``max_batch``), hands them all to ``decide`` and gives each request its own result back.
While a batch is being decided the next requests wait, so under load the batches grow by themselves — no timer is
needed for that, and a lone request at rest is decided at once. ``window`` (0 by default) makes an idle batcher wait
that long after the first item for company: fewer, larger engine calls for a trickle of requests, at the price of
that much latency.

``decide`` runs in a worker thread, or — given ``processes`` — in processes of their own (``concurrent.futures``,
started with ``spawn``: the engine's thread pools do not survive a ``fork``), one batch in flight per process, so
that on a machine with two cores the reading and deciding of cases runs beside the event loop instead of taking
turns with it for the GIL. A deciding process that dies is replaced, and its batch is decided in a thread
meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import BrokenExecutor, Executor, ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Generic, TypeVar

log = logging.getLogger("warexempt.api")
Item = TypeVar("Item")
Result = TypeVar("Result")


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


class MicroBatcher(Generic[Item, Result]):
    """``submit(item)`` → ``decide([..., item, ...])[i]``. ``decide`` must be a module-level function when
    ``processes`` > 0 (it is pickled by name), ``warm`` too (run once in each new process)."""

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
        self._executor: Executor | None = None
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _ensure(self, loop: asyncio.AbstractEventLoop) -> asyncio.Event:
        """The wake-up event and the loop task in the running event loop (made on first use: a test client, a
        server and a notebook each bring their own loop)."""
        if self._wake is None or self._loop is not loop or self._task is None or self._task.done():
            self._loop = loop
            self._wake = asyncio.Event()
            self._waiting = []
            self._task = loop.create_task(self._run(self._wake), name="warexempt-batcher")
        return self._wake

    def _pool(self) -> Executor | None:
        if self.processes > 0 and self._executor is None:
            self._executor = ProcessPoolExecutor(
                self.processes, mp_context=multiprocessing.get_context("spawn"), initializer=self.warm
            )
        return self._executor

    def use_processes(self, processes: int) -> None:
        """Decide in ``processes`` processes (0: in a thread) from the next start on (before the server starts)."""
        if self._executor is not None:
            raise RuntimeError("the batcher's processes are running already")
        self.processes = processes

    async def start(self) -> None:
        """Start the deciding process and wait until it is ready (so that the first requests do not wait for it
        to import the engine and load the law); nothing to do without one."""
        pool = self._pool()
        if pool is None:
            return
        try:
            await asyncio.get_running_loop().run_in_executor(pool, self.decide, [])
        except Exception:  # no process to be had (or it cannot load the law): decide in threads, as without one
            log.exception("cannot start a process to decide /check batches; deciding them in threads")
            self.processes, self._executor = 0, None
            pool.shutdown(wait=False, cancel_futures=True)

    async def submit(self, item: Item) -> Result:
        """The result of ``item``, decided with whatever other items arrive meanwhile."""
        loop = asyncio.get_running_loop()
        wake = self._ensure(loop)
        future: asyncio.Future[Result] = loop.create_future()
        self._waiting.append((item, future))
        wake.set()
        return await future

    async def _run(self, wake: asyncio.Event) -> None:
        free = asyncio.Semaphore(max(1, self.processes))  # batches in flight: one per deciding process
        deciding: set[asyncio.Task[None]] = set()
        try:
            while True:
                await wake.wait()
                await free.acquire()
                if self.window > 0 and len(self._waiting) < self.max_batch:
                    await asyncio.sleep(self.window)
                else:
                    await asyncio.sleep(0)  # one more turn: requests read in the same turn join this batch
                batch, self._waiting = self._waiting[: self.max_batch], self._waiting[self.max_batch :]
                if not self._waiting:
                    wake.clear()
                if not batch:
                    free.release()
                    continue
                task = asyncio.get_running_loop().create_task(self._decide(batch))
                deciding.add(task)
                task.add_done_callback(partial(_finished, deciding, free))
        finally:
            for task in deciding:
                task.cancel()

    async def _call(self, items: list[Item]) -> list[Result]:
        pool = self._pool()
        if pool is None:
            return await asyncio.to_thread(self.decide, items)
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, self.decide, items)
        except BrokenExecutor:  # the deciding process died (killed, out of memory): a new one, this batch here
            log.error("the process deciding /check batches stopped; starting another")
            self._executor = None
            pool.shutdown(wait=False, cancel_futures=True)
            return await asyncio.to_thread(self.decide, items)

    async def _decide(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        items = [item for item, _ in batch]
        self.stats.calls += 1
        self.stats.cases += len(items)
        self.stats.largest = max(self.stats.largest, len(items))
        try:
            results = await self._call(items)
        except BaseException as exc:  # every waiting request learns of it; the loop goes on
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc if isinstance(exc, Exception) else RuntimeError(str(exc)))
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():  # a client that went away
                future.set_result(result)

    async def close(self) -> None:
        """Stop the loop and the deciding processes (the server is going down)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, RuntimeError):
                await self._task
            self._task = None
        if self._executor is not None:  # (an idle process: it ends at once, and leaves nothing behind)
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None


def _finished(deciding: set[asyncio.Task[None]], free: asyncio.Semaphore, task: asyncio.Task[None]) -> None:
    deciding.discard(task)
    free.release()
