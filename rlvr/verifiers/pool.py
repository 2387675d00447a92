"""A persistent pool of verifier worker processes with a hard per-item timeout.

The trainer verifies thousands of responses per step, from a thread, while generation goes on.
``concurrent.futures.ProcessPoolExecutor`` cannot cancel a running task, and ``signal.alarm``
only works in a main thread, so this pool manages its workers itself:

* Workers start once (``forkserver``, with the verifier modules preloaded, so a replacement
  starts in milliseconds and no thread state of the caller is forked) and are reused.
* A dispatcher thread runs stage 1 (:func:`rlvr.verifiers.api.prepare`: cheap checks) for each
  request, sends the undecided rest to workers (a few in flight per worker to hide the round
  trip), and collects results in order of arrival.
* Each worker answers its items in order, so the item at the head of a worker's queue has been
  running since the previous answer (or since it was sent). When that exceeds the timeout the
  worker is killed and replaced, the item gets ``reason="timeout"`` and the worker's other items
  are re-queued. A worker that dies gets ``error:worker-died`` for its head item.
* Workers cap their address space, so a runaway allocation becomes a ``MemoryError`` verdict
  instead of swapping the machine.
"""

from __future__ import annotations

import collections
import multiprocessing as mp
import os
import signal
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from rlvr.verifiers import verdict as R
from rlvr.verifiers.api import Pending, decide, prepare
from rlvr.verifiers.verdict import Verdict, VerifyRequest

MAX_IN_FLIGHT = 4  # items queued per worker; small so a timeout re-queues little work
WORKER_MEMORY_BYTES = 4 << 30


def _worker_main(conn: Connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_BYTES, WORKER_MEMORY_BYTES))
    except (ImportError, ValueError, OSError):
        pass  # not on this platform: the evaluator's own bounds still apply
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        item_id, pending = message
        conn.send((item_id, decide(pending)))


@dataclass
class _Job:
    results: list[Verdict | None]
    future: Future
    remaining: int

    def fill(self, index: int, verdict: Verdict) -> None:
        self.results[index] = verdict
        self.remaining -= 1
        if self.remaining == 0 and not self.future.done():
            self.future.set_result(self.results)


@dataclass
class _Item:
    job: _Job
    index: int
    pending: Pending
    timeout: float


@dataclass
class _Worker:
    process: Any
    conn: Connection
    in_flight: collections.deque = field(default_factory=collections.deque)  # (item_id, _Item)
    head_since: float = 0.0


class VerifierPool:
    """``with VerifierPool(workers=2, timeout=5.0) as pool: pool.verify_many(requests)``."""

    def __init__(self, workers: int = 2, timeout: float = 5.0):
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.timeout = timeout
        methods = mp.get_all_start_methods()
        self._ctx = mp.get_context("forkserver" if "forkserver" in methods else "spawn")
        if "forkserver" in methods:
            # sympy_tier: workers then start with sympy imported and warm (the caller never is)
            self._ctx.set_forkserver_preload(["rlvr.verifiers.api", "rlvr.verifiers.sympy_tier"])
        self._inbox: collections.deque = collections.deque()
        self._wake_r, self._wake_w = mp.Pipe(duplex=False)
        self._lock = threading.Lock()
        self._queue: collections.deque[_Item] = collections.deque()
        self._next_id = 0
        self._closing = False
        self.closed = False
        self._workers = [self._start_worker() for _ in range(workers)]
        self._thread = threading.Thread(target=self._run, name="rlvr-verifier-pool", daemon=True)
        self._thread.start()

    # -- public API ----------------------------------------------------------------------------
    def submit(self, requests: list[VerifyRequest]) -> Future:
        """Verify ``requests`` in the background; the future's result is the list of verdicts."""
        return self._enqueue(("requests", list(requests), self.timeout))

    def verify_many(self, requests: list[VerifyRequest]) -> list[Verdict]:
        return self.submit(requests).result()

    def run_pending(self, pending: list[Pending], timeout: float | None = None) -> list[Verdict]:
        """Stage 2 only, for requests whose stage 1 already ran in the caller."""
        return self._enqueue(("pending", pending, self.timeout if timeout is None else timeout)).result()

    def close(self) -> None:
        if self.closed:
            return
        self._closing = True
        self._wake()
        self._thread.join(timeout=10)
        for w in self._workers:
            self._stop_worker(w, graceful=True)
        self.closed = True

    def __enter__(self) -> VerifierPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals -----------------------------------------------------------------------------
    def _enqueue(self, message: tuple) -> Future:
        if self._closing:
            raise RuntimeError("VerifierPool is closed")
        future: Future = Future()
        self._inbox.append((message, future))
        self._wake()
        return future

    def _wake(self) -> None:
        with self._lock:
            self._wake_w.send_bytes(b"w")

    def _start_worker(self) -> _Worker:
        parent, child = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(target=_worker_main, args=(child,), daemon=True, name="rlvr-verifier")
        process.start()
        child.close()
        return _Worker(process, parent)

    def _stop_worker(self, worker: _Worker, graceful: bool) -> None:
        if graceful:
            try:
                worker.conn.send(None)
            except (OSError, BrokenPipeError):
                pass
            worker.process.join(timeout=1)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join(timeout=5)
        worker.conn.close()

    def _accept(self) -> None:
        """Move submitted work into the queue, deciding the cheap items on the way."""
        while self._inbox:
            (kind, payload, timeout), future = self._inbox.popleft()
            job = _Job([None] * len(payload), future, len(payload))
            if not payload:
                future.set_result([])
                continue
            for index, entry in enumerate(payload):
                first = prepare(entry) if kind == "requests" else entry
                if isinstance(first, Verdict):
                    job.fill(index, first)
                else:
                    self._queue.append(_Item(job, index, first, timeout))
                    self._assign()

    def _assign(self) -> None:
        now = time.monotonic()
        for worker in sorted(self._workers, key=lambda w: len(w.in_flight)):
            while self._queue and len(worker.in_flight) < MAX_IN_FLIGHT:
                item = self._queue.popleft()
                self._next_id += 1
                if not worker.in_flight:
                    worker.head_since = now
                worker.in_flight.append((self._next_id, item))
                worker.conn.send((self._next_id, item.pending))

    def _replace(self, worker: _Worker, head_verdict: Verdict) -> None:
        _, head = worker.in_flight.popleft()
        head.job.fill(head.index, head_verdict)
        self._queue.extendleft(item for _, item in reversed(worker.in_flight))
        worker.in_flight.clear()
        self._stop_worker(worker, graceful=False)
        self._workers[self._workers.index(worker)] = self._start_worker()

    def _collect(self) -> None:
        busy = [w for w in self._workers if w.in_flight]
        now = time.monotonic()
        waits = [w.head_since + w.in_flight[0][1].timeout - now for w in busy]
        timeout = max(0.0, min(waits)) if waits else None
        ready = wait([self._wake_r, *(w.conn for w in busy)], timeout=timeout)
        if self._wake_r in ready:
            while self._wake_r.poll():
                self._wake_r.recv_bytes()
        now = time.monotonic()
        for worker in busy:
            if worker.conn in ready:
                try:
                    while worker.conn.poll():
                        item_id, verdict = worker.conn.recv()
                        done_id, item = worker.in_flight.popleft()
                        assert done_id == item_id, "worker answered out of order"
                        item.job.fill(item.index, verdict)
                        worker.head_since = now
                        if not worker.in_flight:
                            break
                except (EOFError, OSError):
                    head = worker.in_flight[0][1]
                    self._replace(worker, Verdict(False, head.pending.extracted, f"{R.ERROR}:worker-died"))
                    continue
            if worker.in_flight and now - worker.head_since > worker.in_flight[0][1].timeout:
                head = worker.in_flight[0][1]
                self._replace(worker, Verdict(False, head.pending.extracted, R.TIMEOUT))

    def _run(self) -> None:
        try:
            while True:
                self._accept()
                self._assign()
                if self._closing and not self._queue and not any(w.in_flight for w in self._workers):
                    return
                self._collect()
        except BaseException as exc:  # noqa: BLE001 - never leave a caller waiting forever
            for _, future in self._inbox:
                future.set_exception(exc)
            for item in self._queue:
                if not item.job.future.done():
                    item.job.future.set_exception(exc)
            for w in self._workers:
                for _, item in w.in_flight:
                    if not item.job.future.done():
                        item.job.future.set_exception(exc)
            raise

    def __repr__(self) -> str:
        return f"VerifierPool(workers={len(self._workers)}, timeout={self.timeout}, pid={os.getpid()})"
