"""A verifier worker process, started by the pool as a fresh interpreter running :func:`main`.

Workers are plain subprocesses speaking length-prefixed JSON over their stdin/stdout rather than
``multiprocessing`` children: a subprocess may be started from a daemonic process (a
``multiprocessing.Pool`` or DataLoader worker), from a forked child and from a script fed on
stdin or run with ``-c`` or in a notebook, because it never re-imports the caller's ``__main__``.
JSON rather than pickle because a frame is only data (a request in, a verdict out): neither side
can make the other run code.

Frames are a 4-byte big-endian length followed by that many bytes of UTF-8 JSON:

* worker to pool, once imports and warm-up are done: ``{"ready": pid}``;
* pool to worker: ``{"id": n, "pending": {...}}`` (a :class:`~rlvr.verifiers.api.Pending`);
* worker to pool: ``{"id": n, "verdict": {...}}`` (a :class:`~rlvr.verifiers.verdict.Verdict`).

End of input (the pool closed the pipe or died) ends the worker.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import threading
import time
from dataclasses import asdict
from typing import Any

HEADER = struct.Struct(">I")
MAX_FRAME_BYTES = 64 << 20  # a request carries at most a capped response and key; more is corruption
WORKER_MEMORY_BYTES = 4 << 30  # address-space cap: a runaway allocation is a MemoryError verdict


class ProtocolError(RuntimeError):
    """A frame that is not what the protocol allows (a worker that printed garbage, or died mid-frame)."""


def encode(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, separators=(",", ":")).encode("utf-8")
    return HEADER.pack(len(body)) + body


def decode_frames(buffer: bytearray) -> list[dict[str, Any]]:
    """Remove and return every complete frame at the front of ``buffer`` (a partial one stays)."""
    out = []
    while len(buffer) >= HEADER.size:
        (size,) = HEADER.unpack_from(buffer)
        if size > MAX_FRAME_BYTES:
            raise ProtocolError(f"frame of {size} bytes")
        if len(buffer) < HEADER.size + size:
            break
        body = bytes(buffer[HEADER.size : HEADER.size + size])
        del buffer[: HEADER.size + size]
        try:
            message = json.loads(body)
        except ValueError as exc:
            raise ProtocolError(f"undecodable frame: {exc}") from None
        if not isinstance(message, dict):
            raise ProtocolError("frame is not an object")
        out.append(message)
    return out


def pending_to_wire(pending: Any) -> dict[str, Any]:
    return asdict(pending)


def pending_from_wire(data: dict[str, Any]) -> Any:
    from rlvr.verifiers.api import Pending
    from rlvr.verifiers.verdict import VerifyRequest

    hedge = data.get("hedge")
    return Pending(**{**data, "request": VerifyRequest(**data["request"]), "hedge": tuple(hedge) if hedge is not None else None})


def _read_exact(fd: int, n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, n - got)
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _exit_with_parent() -> None:
    """A worker busy on a slow item never reads its closed stdin, so it watches its parent too."""
    parent = os.getppid()
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(0)


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    # The protocol owns the original stdin/stdout; anything the verifier code prints goes to stderr.
    fd_in, fd_out = os.dup(0), os.dup(1)
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_BYTES, WORKER_MEMORY_BYTES))
    except (ImportError, ValueError, OSError):
        pass  # not on this platform: the evaluator's own bounds still apply
    threading.Thread(target=_exit_with_parent, daemon=True).start()

    from rlvr.verifiers import sympy_tier  # noqa: F401 - imports and warms sympy before the first timed item
    from rlvr.verifiers.api import decide, verify_inline
    from rlvr.verifiers.verdict import VerifyRequest

    verify_inline(VerifyRequest("100 cm", "1 m"))  # builds the unit registry before the first timed item
    _write_all(fd_out, encode({"ready": os.getpid()}))
    while True:
        header = _read_exact(fd_in, HEADER.size)
        if header is None:
            return
        body = _read_exact(fd_in, HEADER.unpack(header)[0])
        if body is None:
            return
        message = json.loads(body)
        verdict = decide(pending_from_wire(message["pending"]))
        _write_all(fd_out, encode({"id": message["id"], "verdict": asdict(verdict)}))
