"""Dynamic batching: concurrent requests share one model call.

The first waiting request opens a batch; requests that arrive within `max_latency_ms` join it
while the batch holds at most `max_batch_size` examples.  A request is never split across
batches, so a request of 5 inputs gets exactly its 5 outputs; one larger than `max_batch_size`
runs alone (the engine cuts it into model-sized batches).  The model runs on one worker thread,
so the event loop keeps accepting requests — they form the next batch while this one runs.
"""
from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class _Pending:
    inputs: list
    future: asyncio.Future = field(repr=False)


class DynamicBatcher:
    def __init__(self, run_batch: Callable[[list], object], *, max_batch_size: int = 32,
                 max_latency_ms: float = 5.0, batching: bool = True,
                 on_batch: Callable[[int], None] | None = None):
        self.run_batch = run_batch
        self.max_batch_size = max(1, int(max_batch_size))
        self.max_latency = max(0.0, max_latency_ms) / 1000.0
        self.batching = batching
        self.on_batch = on_batch
        self._queue: asyncio.Queue[_Pending] | None = None
        self._carry: _Pending | None = None
        self._worker: asyncio.Task | None = None
        self._busy = False
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlang-model")

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._worker = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        """Finish every request already submitted, then stop the worker."""
        while self._queue is not None and (not self._queue.empty() or self._carry or self._busy):
            await asyncio.sleep(0.01)
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
        self._executor.shutdown(wait=True)

    async def submit(self, inputs: list):
        """The model's outputs for `inputs` (one row per input), computed in some batch."""
        future = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(list(inputs), future))
        return await future

    async def _loop(self) -> None:
        while True:
            batch = await self._collect()
            try:
                await self._execute(batch)
            finally:
                self._busy = False

    async def _collect(self) -> list[_Pending]:
        first = self._carry or await self._queue.get()
        self._busy = True  # from here until the batch is answered, stop() waits for us
        self._carry = None
        batch, size = [first], len(first.inputs)
        if not self.batching:
            return batch
        deadline = time.monotonic() + self.max_latency
        while size < self.max_batch_size:
            try:
                if self._queue.empty():
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    item = await asyncio.wait_for(self._queue.get(), remaining)
                else:
                    item = self._queue.get_nowait()
            except asyncio.TimeoutError:
                break
            if size + len(item.inputs) > self.max_batch_size:
                self._carry = item  # opens the next batch; requests are never split
                break
            batch.append(item)
            size += len(item.inputs)
        return batch

    async def _execute(self, batch: list[_Pending]) -> None:
        loop = asyncio.get_running_loop()
        examples = [x for pending in batch for x in pending.inputs]
        try:
            outputs = await loop.run_in_executor(self._executor, self.run_batch, examples)
        except Exception as error:  # noqa: BLE001 - delivered to the requests, not raised here
            if len(batch) > 1:
                # One bad request must not fail its neighbours: retry each on its own.
                for pending in batch:
                    await self._execute([pending])
                return
            _deliver_error(batch[0], error)
            return
        if self.on_batch is not None:
            self.on_batch(len(examples))
        start = 0
        for pending in batch:
            end = start + len(pending.inputs)
            if not pending.future.done():
                pending.future.set_result(outputs[start:end])
            start = end


def _deliver_error(pending: _Pending, error: Exception) -> None:
    if not pending.future.done():
        pending.future.set_exception(error)
