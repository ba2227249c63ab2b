"""The micro-batcher: concurrent ``/check`` requests decided together, in one call of the vectorised engine.

Deciding 100 cases costs about what deciding one does (the engine's set-up dominates), so requests that arrive
within a few milliseconds of each other are gathered into one frame. One asyncio queue, one loop: the loop takes the
first waiting case, gathers whatever else arrives within ``window`` seconds (at most ``max_batch``), decides them
all in a worker thread (``services.decide_rows``), and hands each request its own row back. While the engine is
busy the next requests queue up, so under load the batches grow by themselves and at rest a lone request waits at
most ``window``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from warexempt.api.problems import ApiProblem
from warexempt.rules.case import Case

Row = dict[str, object]
Decide = Callable[[Sequence[Case]], list[Row | ApiProblem]]


@dataclass
class Stats:
    """What the batcher has done: engine calls made, cases decided, the largest batch."""

    calls: int = 0
    cases: int = 0
    largest: int = 0


class MicroBatcher:
    def __init__(self, decide: Decide, window: float = 0.002, max_batch: int = 512) -> None:
        self.decide = decide
        self.window = window
        self.max_batch = max_batch
        self.stats = Stats()
        self._queue: asyncio.Queue[tuple[Case, asyncio.Future[Row | ApiProblem]]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _ensure(self) -> asyncio.Queue[tuple[Case, asyncio.Future[Row | ApiProblem]]]:
        """The queue and its loop task in the running event loop (made on first use: a test client, a server and
        a notebook each bring their own loop)."""
        loop = asyncio.get_running_loop()
        if self._queue is None or self._loop is not loop or self._task is None or self._task.done():
            self._loop = loop
            self._queue = asyncio.Queue()
            self._task = loop.create_task(self._run(self._queue), name="warexempt-batcher")
        return self._queue

    async def submit(self, case: Case) -> Row | ApiProblem:
        """The decision row of ``case`` (or its problem), decided with whatever other cases arrive meanwhile."""
        queue = self._ensure()
        future: asyncio.Future[Row | ApiProblem] = asyncio.get_running_loop().create_future()
        await queue.put((case, future))
        return await future

    async def _run(self, queue: asyncio.Queue[tuple[Case, asyncio.Future[Row | ApiProblem]]]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await queue.get()]
            deadline = loop.time() + self.window
            while len(batch) < self.max_batch:
                if not queue.empty():
                    batch.append(queue.get_nowait())
                    continue
                left = deadline - loop.time()
                if left <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(queue.get(), left))
                except TimeoutError:
                    break
            await self._decide(batch)

    async def _decide(self, batch: list[tuple[Case, asyncio.Future[Row | ApiProblem]]]) -> None:
        cases = [case for case, _ in batch]
        self.stats.calls += 1
        self.stats.cases += len(cases)
        self.stats.largest = max(self.stats.largest, len(cases))
        try:
            rows = await asyncio.to_thread(self.decide, cases)
        except BaseException as exc:  # every waiting request learns of it; the loop goes on
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc if isinstance(exc, Exception) else RuntimeError(str(exc)))
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), row in zip(batch, rows, strict=True):
            if not future.done():  # a client that went away
                future.set_result(row)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, RuntimeError):
                await self._task
            self._task = None
