"""The per-token gate: FIFO, exclusive across threads and event loops, safe under cancellation."""

from __future__ import annotations

import asyncio
import threading
import time

from peropix_tui.core.nai.gate import TokenGate, gate_for


def test_same_token_same_gate_other_token_other_gate() -> None:
    assert gate_for("pst-a") is gate_for("pst-a")
    assert gate_for("pst-a") is not gate_for("pst-b")


async def test_waiters_are_served_in_arrival_order() -> None:
    gate, order = TokenGate(), []

    async def job(n: int) -> None:
        async with gate.hold():
            order.append(n)
            await asyncio.sleep(0.005)

    await gate.acquire()
    tasks = []
    for n in range(5):
        tasks.append(asyncio.create_task(job(n)))
        await asyncio.sleep(0)  # let it queue
    gate.release()
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3, 4] and not gate.locked


async def test_cancelled_waiter_does_not_block_the_rest() -> None:
    gate = TokenGate()
    await gate.acquire()
    doomed = asyncio.create_task(gate.acquire())
    after = asyncio.create_task(gate.acquire())
    await asyncio.sleep(0)
    doomed.cancel()
    gate.release()
    await asyncio.wait_for(after, 1)
    gate.release()
    assert not gate.locked


def test_exclusive_across_threads_each_with_its_own_loop() -> None:
    gate, inside, overlaps = TokenGate(), [0], []

    async def job() -> None:
        for _ in range(5):
            async with gate.hold():
                inside[0] += 1
                overlaps.append(inside[0])
                await asyncio.sleep(0.001)
                time.sleep(0.001)
                inside[0] -= 1

    threads = [threading.Thread(target=asyncio.run, args=(job(),)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert len(overlaps) == 20 and max(overlaps) == 1 and not gate.locked
