"""Dynamic batching: concurrent requests share one model call, within a bounded queue.

The first waiting request opens a batch; requests that arrive within `max_latency_ms` join it
while the batch holds at most `max_batch_size` examples.  A request is never split across
batches, so a request of 5 inputs gets exactly its 5 outputs; one larger than `max_batch_size`
runs alone (the engine cuts it into model-sized batches).  The model runs on one worker thread,
so the event loop keeps accepting requests — they form the next batch while this one runs.

The queue holds at most `max_queue` requests: `enqueue` refuses one more with `QueueFull`
(the server answers 503 with Retry-After).  A request may carry a deadline; one whose deadline
has passed, or that was cancelled (its client hung up), is dropped before its batch reaches the
model, so the model only computes what someone is still waiting for.  Once a batch has been
timed (the server's warm-up times one), `enqueue` also refuses (`QueueFull`, reason "deadline") a request the model would reach
only after its deadline — the examples waiting ahead of it times the measured seconds per example
— so a request that would wait out its deadline for a 504 is told at once to come back later.
"""
from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

QUEUED, BATCHED, RUNNING, DONE, DROPPED = "queued", "batched", "running", "done", "dropped"


class QueueFull(Exception):
    """No room for the request: the queue already holds `max_queue` requests (reason "max_queue"),
    or the work ahead of it outlasts its deadline (reason "deadline"); `retry_after` is the
    expected wait in whole seconds, `wait_s` the estimate (None before a batch was timed)."""

    def __init__(self, waiting: int, retry_after: int, reason: str = "max_queue",
                 wait_s: float | None = None):
        super().__init__(f"{waiting} requests are waiting")
        self.waiting, self.retry_after, self.reason, self.wait_s = waiting, retry_after, reason, wait_s


class DeadlineExceeded(Exception):
    """The request's deadline passed before the model reached it."""


class Stopped(Exception):
    """The batcher is stopped (the server is shutting down)."""


@dataclass(eq=False)
class Pending:
    """One request in the batcher: its examples, the future of its outputs, its state."""

    inputs: list
    future: asyncio.Future = field(repr=False)
    deadline: float | None = None   # on the event loop's clock (loop.time())
    state: str = QUEUED


class DynamicBatcher:
    def __init__(self, run_batch: Callable[[list], object], *, max_batch_size: int = 32,
                 max_latency_ms: float = 5.0, batching: bool = True, max_queue: int | None = None,
                 on_batch: Callable[[int], None] | None = None,
                 on_drop: Callable[[str], None] | None = None):
        self.run_batch = run_batch
        self.max_batch_size = max(1, int(max_batch_size))
        self.max_latency = max(0.0, max_latency_ms) / 1000.0
        self.batching = batching
        self.max_queue = max_queue
        self.on_batch = on_batch
        self.on_drop = on_drop          # called with "deadline" or "cancelled" for each dropped request
        self._queue: deque[Pending] = deque()
        self.waiting = 0                # requests queued (not yet taken into a batch)
        self.waiting_examples = 0
        self._wake: asyncio.Event | None = None
        self._worker: asyncio.Task | None = None
        self._busy = False
        self._stopping = False
        self._seconds_per_example: float | None = None   # measured, to estimate Retry-After
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlang-model")

    async def start(self) -> None:
        self._wake = asyncio.Event()
        self._worker = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        """Refuse new requests, answer every request already queued, then stop the worker."""
        self._stopping = True
        while self._worker is not None and (self.waiting or self._busy):
            await asyncio.sleep(0.01)
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
        self._executor.shutdown(wait=True)

    async def run_in_model_thread(self, function: Callable[[], object]):
        """Run `function` on the model's thread, between batches (the server's warm-up)."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, function)

    def enqueue(self, inputs: list, deadline: float | None = None) -> Pending:
        """Queue a request; raises `QueueFull` when `max_queue` requests already wait."""
        if self._stopping or self._worker is None:
            raise Stopped()
        if self.max_queue is not None and self.waiting >= self.max_queue:
            raise QueueFull(self.waiting, self.retry_after(), wait_s=self.expected_wait())
        loop = asyncio.get_running_loop()
        wait = self.expected_wait()
        if deadline is not None and wait is not None and loop.time() + wait >= deadline:
            raise QueueFull(self.waiting, self.retry_after(), "deadline", wait)
        pending = Pending(list(inputs), loop.create_future(), deadline)
        self._queue.append(pending)
        self.waiting += 1
        self.waiting_examples += len(pending.inputs)
        self._wake.set()
        return pending

    async def submit(self, inputs: list, deadline: float | None = None):
        """The model's outputs for `inputs` (one row per input), computed in some batch."""
        return await self.enqueue(inputs, deadline).future

    def cancel(self, pending: Pending, reason: str = "cancelled") -> bool:
        """Drop `pending` if the model has not started on it; False when it already runs (or ran)."""
        if pending.state == QUEUED:
            self._unqueue(pending)
        elif pending.state != BATCHED:
            return False
        pending.state = DROPPED
        if not pending.future.done():
            if reason == "deadline":
                pending.future.set_exception(DeadlineExceeded())
                pending.future.exception()  # marked as retrieved: its handler may have gone already
            else:
                pending.future.cancel()
        if self.on_drop is not None:
            self.on_drop(reason)
        return True

    def record_timing(self, examples: int, seconds: float) -> None:
        """Fold one model call of `examples` that took `seconds` into the seconds-per-example
        estimate (a moving average) behind `expected_wait` and Retry-After."""
        per_example = seconds / max(1, examples)
        self._seconds_per_example = per_example if self._seconds_per_example is None else (
            0.8 * self._seconds_per_example + 0.2 * per_example)

    def expected_wait(self) -> float | None:
        """Seconds until the model would reach a request queued now: the examples waiting times
        the measured seconds per example (None until a batch has been timed)."""
        if self._seconds_per_example is None:
            return None
        return self.waiting_examples * self._seconds_per_example

    def retry_after(self) -> int:
        """Whole seconds until the queue has room again, as measured so far (1 to 60)."""
        wait = self.expected_wait()
        return 1 if wait is None else max(1, min(60, math.ceil(wait)))

    def _unqueue(self, pending: Pending) -> None:
        self.waiting -= 1
        self.waiting_examples -= len(pending.inputs)

    async def _loop(self) -> None:
        while True:
            batch = await self._collect()
            try:
                await self._execute(batch)
            finally:
                self._busy = False

    def _head(self) -> Pending | None:
        """The first request still worth computing; expired ones are dropped on the way."""
        now = asyncio.get_running_loop().time()
        while self._queue:
            pending = self._queue[0]
            if pending.state != QUEUED:          # cancelled while it waited
                self._queue.popleft()
            elif pending.deadline is not None and now >= pending.deadline:
                self._queue.popleft()
                self.cancel(pending, "deadline")
            else:
                return pending
        return None

    async def _next(self, timeout: float | None) -> Pending | None:
        """The head of the queue once there is one; None if `timeout` seconds pass first."""
        end = None if timeout is None else time.monotonic() + timeout
        while (head := self._head()) is None:
            self._wake.clear()
            if end is None:
                await self._wake.wait()
                continue
            remaining = end - time.monotonic()
            if remaining <= 0:
                return None
            try:
                await asyncio.wait_for(self._wake.wait(), remaining)
            except asyncio.TimeoutError:
                return None
        return head

    def _take(self, pending: Pending) -> None:
        self._queue.popleft()
        self._unqueue(pending)
        pending.state = BATCHED

    async def _collect(self) -> list[Pending]:
        first = await self._next(None)
        self._busy = True  # from here until the batch is answered, stop() waits for us
        self._take(first)
        batch, size = [first], len(first.inputs)
        if not self.batching:
            return batch
        deadline = time.monotonic() + self.max_latency
        while size < self.max_batch_size:
            item = await self._next(max(0.0, deadline - time.monotonic()))
            if item is None or size + len(item.inputs) > self.max_batch_size:
                break  # a request that does not fit opens the next batch; requests are never split
            self._take(item)
            batch.append(item)
            size += len(item.inputs)
        return batch

    async def _execute(self, batch: list[Pending]) -> None:
        # Requests cancelled, or whose deadline passed, while the batch was forming are not computed.
        now = asyncio.get_running_loop().time()
        for pending in batch:
            if pending.state == BATCHED and pending.deadline is not None and now >= pending.deadline:
                self.cancel(pending, "deadline")
        batch = [pending for pending in batch if pending.state == BATCHED]
        if not batch:
            return
        for pending in batch:
            pending.state = RUNNING
        await self._run(batch)

    async def _run(self, batch: list[Pending]) -> None:
        loop = asyncio.get_running_loop()
        examples = [x for pending in batch for x in pending.inputs]
        started = time.perf_counter()
        try:
            outputs = await loop.run_in_executor(self._executor, self.run_batch, examples)
        except Exception as error:  # noqa: BLE001 - delivered to the requests, not raised here
            if len(batch) > 1:
                # One bad request must not fail its neighbours: retry each on its own.
                for pending in batch:
                    await self._run([pending])
                return
            _deliver(batch[0], error=error)
            return
        self.record_timing(len(examples), time.perf_counter() - started)
        if self.on_batch is not None:
            self.on_batch(len(examples))
        start = 0
        for pending in batch:
            end = start + len(pending.inputs)
            _deliver(pending, result=outputs[start:end])
            start = end


def _deliver(pending: Pending, result=None, error: Exception | None = None) -> None:
    pending.state = DONE
    if pending.future.done():
        return
    if error is not None:
        pending.future.set_exception(error)
    else:
        pending.future.set_result(result)
