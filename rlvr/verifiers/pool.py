"""A persistent pool of verifier worker processes with a hard per-item timeout.

The trainer verifies thousands of responses per step, from a thread, while generation goes on.
``concurrent.futures.ProcessPoolExecutor`` cannot cancel a running task, and ``signal.alarm``
only works in a main thread, so this pool manages its workers itself:

* Workers are subprocesses running :mod:`rlvr.verifiers.worker` (a fresh interpreter), which works
  from every place users call a reward function: daemonic ``multiprocessing`` workers and
  DataLoader workers (which may not have ``multiprocessing`` children), forked children, threads,
  scripts fed on stdin or run with ``-c`` and notebooks (nothing re-imports ``__main__``). So a
  worker sees the answer types of the package and of the ``rlvr.answer_types`` entry points on
  the caller's ``sys.path``, not types registered at run time in the caller's ``__main__``.
* A dispatcher thread runs stage 1 (:func:`rlvr.verifiers.api.prepare`: cheap, size-capped,
  never raising) for each request, sends the undecided rest to workers and collects results.
* One item in flight per worker, so no item ever waits behind a slow one on the same worker.
  When an item has run for longer than :func:`_slow_after`, the pool lets one more worker take
  work (up to ``2 * workers``), so another caller's batch is not held up by a stuck item either.
* A pre-started spare worker is kept, so replacing a killed worker costs nothing on the path of
  a verdict. When an item exceeds its timeout its worker is killed (``reason="timeout"``); a
  worker that dies gives ``error:worker-died``; workers that cannot start give
  ``error:worker-start`` verdicts to what is queued. If the dispatcher itself ever fails, every
  pending and later call raises instead of waiting.
* Workers cap their address space, so a runaway allocation becomes a ``MemoryError`` verdict
  instead of swapping the machine.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

from rlvr.verifiers import verdict as R
from rlvr.verifiers.api import Pending, prepare
from rlvr.verifiers.verdict import Verdict, VerifyRequest
from rlvr.verifiers.worker import ProtocolError, decode_frames, encode, pending_to_wire

START_TIMEOUT = 60.0  # seconds a worker may take to import and warm up (2-5 s on a loaded 2-core machine)
MAX_START_FAILURES = 3  # consecutive failed starts before queued items get error verdicts
START_RETRY_AFTER = 5.0  # seconds between start attempts once workers keep failing to start
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # the folder holding ``rlvr/``


def _slow_after(timeout: float) -> float:
    """How long an item may run before another worker is let in to keep the queue moving:
    typical items take milliseconds, so a quarter of the timeout (at most half a second) is
    already a sign of an item that may run to its timeout."""
    return min(0.25 * timeout, 0.5)


def worker_command() -> list[str]:
    """The worker's command line: this interpreter, isolated from the caller's working directory
    (``-P``, so a local file named like a module cannot shadow one), with this package importable.
    ``-c`` rather than ``-m``: importing the package already imports the worker module, which
    ``runpy`` would then run a second time."""
    isolate = ["-P"] if sys.version_info >= (3, 11) else []
    return [sys.executable, *isolate, "-c", "from rlvr.verifiers.worker import main; main()"]


def _worker_env() -> dict[str, str]:
    """The caller's environment, with ``PYTHONPATH`` listing this package and then the caller's
    own ``sys.path`` in its order, so that a worker finds the modules and the ``rlvr.answer_types``
    plug-ins the caller finds, including those in a folder put on ``sys.path`` at run time (a
    notebook, a test, a script's folder) rather than installed. The caller's ``PYTHONPATH`` is in
    its ``sys.path`` already. The working-directory entry ``''`` stays out, as ``-P`` keeps it out."""
    env = dict(os.environ)
    paths = [_PACKAGE_ROOT, *(str(p) for p in sys.path if p and os.pathsep not in str(p))]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return env


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


class _Worker:
    """One worker subprocess; ``item`` is the one it is working on, sent at ``since``."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            worker_command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=_worker_env(),
            start_new_session=True,  # Ctrl-C in a terminal goes to the caller, which closes us
        )
        self.fd = self.process.stdout.fileno()  # type: ignore[union-attr]
        os.set_blocking(self.fd, False)
        self.buffer = bytearray()
        self.started = time.monotonic()
        self.ready = False
        self.item: _Item | None = None
        self.item_id = 0
        self.since = 0.0

    def send(self, item_id: int, item: _Item, now: float) -> None:
        self.item, self.item_id, self.since = item, item_id, now
        stdin = self.process.stdin
        stdin.write(encode({"id": item_id, "pending": pending_to_wire(item.pending)}))  # type: ignore[union-attr]
        stdin.flush()  # type: ignore[union-attr]

    def receive(self) -> list[dict[str, Any]]:
        """Frames that arrived; raises EOFError when the worker has exited."""
        while True:
            try:
                chunk = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                break
            if not chunk:
                raise EOFError("worker exited")
            self.buffer += chunk
        return decode_frames(self.buffer)

    def stop(self, graceful: bool) -> None:
        try:
            self.process.stdin.close()  # type: ignore[union-attr]  # end of input ends the worker
        except OSError:
            pass
        if graceful:
            try:
                self.process.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process.stdout.close()  # type: ignore[union-attr]


class VerifierPool:
    """``with VerifierPool(workers=2, timeout=5.0) as pool: pool.verify_many(requests)``.

    A pool belongs to the process that created it: a forked child must create its own
    (:func:`rlvr.verifiers.api.verify` does so by itself)."""

    def __init__(self, workers: int = 2, timeout: float = 5.0):
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.timeout = timeout
        self.size = workers
        self._pid = os.getpid()
        self._inbox: collections.deque = collections.deque()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._lock = threading.Lock()  # orders _enqueue against the dispatcher's failure
        self._queue: collections.deque[_Item] = collections.deque()
        self._workers: list[_Worker] = []
        self._next_id = 0
        self._start_failures = 0
        self._last_failure = 0.0
        self._failure: BaseException | None = None
        self._started = threading.Event()  # set once the first workers and the spare are ready
        self._closing = False
        self.closed = False
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

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until the workers (and the spare) have started; False if ``timeout`` ran out.
        For benchmarks, whose first items would otherwise measure interpreter start-up."""
        return self._started.wait(timeout)

    def usable(self) -> bool:
        """Whether this process may still submit work (not closed, not failed, not inherited by fork)."""
        return not self._closing and self._failure is None and self._pid == os.getpid()

    def close(self) -> None:
        if self.closed:
            return
        self._closing = True
        self.closed = True
        if self._pid != os.getpid():
            return  # inherited through fork: the workers and the thread are the parent's
        self._wake()
        self._thread.join(timeout=max(60.0, 2 * self.timeout))
        for w in self._workers:
            w.stop(graceful=True)
        self._workers.clear()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def __enter__(self) -> VerifierPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals -----------------------------------------------------------------------------
    def _enqueue(self, message: tuple) -> Future:
        if self._pid != os.getpid():
            raise RuntimeError("VerifierPool was created in another process (fork); create one in this process")
        future: Future = Future()
        with self._lock:
            if self._closing:
                raise RuntimeError("VerifierPool is closed")
            if self._failure is not None:
                raise RuntimeError(f"VerifierPool dispatcher failed: {self._failure!r}") from self._failure
            self._inbox.append((message, future))
        self._wake()
        return future

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"w")
        except BlockingIOError:
            pass  # the pipe is full of wake-ups already

    def _accept(self) -> None:
        """Move submitted work into the queue, deciding the cheap items on the way."""
        while self._inbox:
            (kind, payload, timeout), future = self._inbox.popleft()
            if not payload:
                future.set_result([])
                continue
            job = _Job([None] * len(payload), future, len(payload))
            try:
                for index, entry in enumerate(payload):
                    first = prepare(entry) if kind == "requests" else entry
                    if isinstance(first, Verdict):
                        job.fill(index, first)
                    else:
                        self._queue.append(_Item(job, index, first, timeout))
            except Exception as exc:  # noqa: BLE001 - the caller's mistake (unknown answer type) is its batch's
                if not future.done():
                    future.set_exception(exc)

    def _busy(self) -> list[_Worker]:
        return [w for w in self._workers if w.item is not None]

    def _capacity(self, now: float) -> int:
        """Workers allowed to work at once: ``size``, plus one for each item running slow."""
        slow = sum(now - w.since > _slow_after(w.item.timeout) for w in self._busy())  # type: ignore[union-attr]
        return min(self.size + slow, 2 * self.size)

    def _maintain(self, now: float) -> None:
        """Keep ``capacity`` workers plus one spare started, retire surplus idle ones, and turn
        repeated start failures into error verdicts."""
        wanted = self._capacity(now) + 1
        idle = [w for w in self._workers if w.item is None]
        while len(self._workers) > wanted and idle:
            self._drop(idle.pop())
        if self._start_failures >= MAX_START_FAILURES and not any(w.ready for w in self._workers):
            # Workers keep failing to start: what is queued gets an error verdict now rather
            # than waiting, and a new start is tried only for new work, at most every few seconds.
            asked = bool(self._queue)
            while self._queue:
                item = self._queue.popleft()
                item.job.fill(item.index, Verdict(False, item.pending.extracted, f"{R.ERROR}:worker-start"))
            if not asked or now - self._last_failure < START_RETRY_AFTER:
                return
        while len(self._workers) < wanted:
            try:
                self._workers.append(_Worker())
            except (OSError, ValueError, subprocess.SubprocessError):
                self._start_failed(now)
                return

    def _start_failed(self, now: float) -> None:
        self._start_failures += 1
        self._last_failure = now

    def _assign(self, now: float) -> None:
        allowed = self._capacity(now) - len(self._busy())
        for worker in list(self._workers):
            if allowed <= 0 or not self._queue:
                return
            if worker.ready and worker.item is None:
                item = self._queue.popleft()
                self._next_id += 1
                try:
                    worker.send(self._next_id, item, now)
                except OSError:  # it died while idle: the item goes back, the worker is replaced
                    self._queue.appendleft(item)
                    worker.item = None
                    self._drop(worker)
                    continue
                allowed -= 1

    def _drop(self, worker: _Worker) -> None:
        self._workers.remove(worker)
        worker.stop(graceful=False)

    def _finish(self, worker: _Worker, verdict: Verdict) -> None:
        item, worker.item = worker.item, None
        item.job.fill(item.index, verdict)  # type: ignore[union-attr]

    def _collect(self) -> None:
        now = time.monotonic()
        # Wake for the next timeout or start deadline, and when an item turns slow (which lets
        # another worker in); slow marks already passed are not events any more.
        deadlines = [w.since + w.item.timeout for w in self._busy()]  # type: ignore[union-attr]
        deadlines += [w.started + START_TIMEOUT for w in self._workers if not w.ready]
        slow = [w.since + _slow_after(w.item.timeout) for w in self._busy()]  # type: ignore[union-attr]
        deadlines += [e for e in slow if e > now]
        timeout = max(0.0, min(deadlines) - now) if deadlines else None
        ready = wait([self._wake_r, *(w.fd for w in self._workers)], timeout=timeout)
        if self._wake_r in ready:
            try:
                while os.read(self._wake_r, 4096):
                    pass
            except BlockingIOError:
                pass
        now = time.monotonic()
        for worker in list(self._workers):
            if worker.fd in ready:
                try:
                    self._read(worker)
                except (EOFError, OSError, ProtocolError):
                    if worker.item is not None:
                        self._finish(worker, Verdict(False, worker.item.pending.extracted, f"{R.ERROR}:worker-died"))
                    elif not worker.ready:
                        self._start_failed(now)
                    self._drop(worker)
                    continue
            if worker.item is not None and now - worker.since > worker.item.timeout:
                self._finish(worker, Verdict(False, worker.item.pending.extracted, R.TIMEOUT))
                self._drop(worker)
            elif not worker.ready and now - worker.started > START_TIMEOUT:
                self._start_failed(now)
                self._drop(worker)

    def _read(self, worker: _Worker) -> None:
        """Handle what ``worker`` sent; ProtocolError for anything the protocol does not allow."""
        for frame in worker.receive():
            if "ready" in frame:
                worker.ready = True
                self._start_failures = 0
                if sum(w.ready for w in self._workers) > self.size:
                    self._started.set()
            elif worker.item is not None and frame.get("id") == worker.item_id:
                try:
                    verdict = Verdict(**frame["verdict"])
                except (KeyError, TypeError) as exc:
                    raise ProtocolError(f"not a verdict: {exc}") from None
                self._finish(worker, verdict)
            else:
                raise ProtocolError("an answer to no item")

    def _has_work(self) -> bool:
        return bool(self._inbox or self._queue or self._busy())

    def _run(self) -> None:
        try:
            while True:
                self._accept()
                now = time.monotonic()
                self._maintain(now)
                self._assign(now)
                if self._closing and not self._has_work():
                    return
                self._collect()
        except BaseException as exc:  # noqa: BLE001 - never leave a caller waiting forever
            self._fail_all(exc)

    def _fail_all(self, exc: BaseException) -> None:
        """Fail every pending and later call with ``exc``; stop the workers."""
        with self._lock:
            self._failure = exc
        futures = [f for _, f in self._inbox] + [i.job.future for i in self._queue]
        futures += [w.item.job.future for w in self._workers if w.item is not None]
        self._inbox.clear()
        self._queue.clear()
        for future in futures:
            if not future.done():
                future.set_exception(RuntimeError(f"VerifierPool dispatcher failed: {exc!r}"))
        for w in self._workers:
            try:
                w.stop(graceful=False)
            except Exception:  # noqa: BLE001 - already failing; the workers exit with their pipes
                pass

    def __repr__(self) -> str:
        return f"VerifierPool(workers={self.size}, timeout={self.timeout}, pid={self._pid})"
