"""``api.batch.MicroBatcher`` on its own: the next batch is handed over before the answers of the last are given
out; a deciding process answers as a thread does; one that cannot start leaves the batches to threads."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from warexempt.api.batch import MicroBatcher


def double(items: Sequence[int]) -> list[int]:
    return [2 * i for i in items]


def broken_warm() -> None:
    raise RuntimeError("no law here")


def test_the_next_batch_is_handed_over_before_the_answers_are_given_out() -> None:
    """While a batch is decided the next requests wait; when it comes back, theirs is on its way to the engine
    before any answer of the first is given out (the engine works while the server writes)."""
    batcher: MicroBatcher[int, int] = MicroBatcher(double)
    seen: list[tuple[int, int]] = []

    async def run() -> list[int]:
        first = [asyncio.ensure_future(batcher.submit(i)) for i in range(3)]
        await asyncio.sleep(0)  # (the requests are in; the batcher takes them on its next turn)
        await asyncio.sleep(0)
        later = [asyncio.ensure_future(batcher.submit(i)) for i in range(3, 5)]
        for future in first:
            future.add_done_callback(lambda f: seen.append((f.result(), batcher.stats.calls)))
        return list(await asyncio.gather(*first, *later))

    assert asyncio.run(run()) == [0, 2, 4, 6, 8]
    assert (batcher.stats.calls, batcher.stats.cases, batcher.stats.largest) == (2, 5, 3)
    assert seen and all(calls == 2 for _, calls in seen), seen


def test_a_deciding_process_answers_as_a_thread_does() -> None:
    batcher: MicroBatcher[int, int] = MicroBatcher(double, processes=1)

    async def run() -> list[int]:
        await batcher.start()
        try:
            assert batcher.pids()
            return list(await asyncio.gather(*(batcher.submit(i) for i in range(20))))
        finally:
            await batcher.close()

    assert asyncio.run(run()) == [2 * i for i in range(20)]
    assert batcher.pids() == [] and batcher.stats.cases == 20


def test_a_process_that_cannot_start_leaves_the_batches_to_threads() -> None:
    batcher: MicroBatcher[int, int] = MicroBatcher(double, processes=1, warm=broken_warm)

    async def run() -> list[int]:
        await batcher.start()
        return list(await asyncio.gather(*(batcher.submit(i) for i in range(4))))

    assert asyncio.run(run()) == [0, 2, 4, 6]
    assert batcher.processes == 0 and batcher.pids() == []
