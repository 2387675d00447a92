"""``rlvr serve-generator``: one engine served to authenticated trainers, one request at a time."""

from __future__ import annotations

import hmac
import queue
import secrets
import selectors
import socket
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from typing import Any

from rlvr.config import section
from rlvr.errors import RlvrError
from rlvr.generation.base import GeneratorConfig, SamplingConfig, build_generator
from rlvr.generation.remote.protocol import (
    HANDSHAKE_SECONDS,
    MAX_PENDING,
    MAX_PENDING_PER_HOST,
    MAX_UNAUTHENTICATED,
    PROTOCOL,
    ConnectionClosed,
    ProtocolError,
    auth_mac,
    check_to_json,
    load_token,
    model_shapes,
    recv_message,
    send_message,
)
from rlvr.generation.remote.transport import RECEIVER, TRANSPORTS


@dataclass
class ServeConfig:
    """``rlvr serve-generator``: the engine the server runs (``generator.*`` as in ``rlvr train``)."""

    generator: GeneratorConfig = section(GeneratorConfig, "generation engine served to trainers (name: vllm or hf)")

    def validate(self) -> None:
        if self.generator.name == "remote":
            raise ValueError("generator.name=remote is the trainer's client; serve a real engine (vllm or hf)")


@dataclass(eq=False)
class _Peer:
    sock: socket.socket
    host: str  # the address the connection came from: the unit of the pre-auth cap
    name: str  # host:port, for the log
    transport: Any = None


class _LoadStream:
    """The tensors one ``load_weights`` request announces and broadcasts, as an iterator.

    Each announcement is checked against the served model before the ack lets the client
    broadcast, so a wrong name, shape or dtype fails cleanly instead of wedging the collective."""

    def __init__(self, server: GeneratorServer, peer: _Peer):
        self.server, self.peer = server, peer
        self.count = self.nbytes = 0
        self.done = False

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        import torch

        while not self.done:
            msg = recv_message(self.peer.sock)
            if msg.get("op") == "end":
                self.done = True
                return
            name, shape, dtype = msg.get("name"), msg.get("shape"), msg.get("dtype")
            want = self.server.shapes.get(name)
            if msg.get("op") != "tensor" or want is None or shape != want or dtype != self.server.generator.dtype:
                raise RlvrError(
                    f"rejected tensor {name!r} {dtype} {shape}: the served model has "
                    f"{'no such tensor' if want is None else f'{self.server.generator.dtype} {want}'}"
                )
            send_message(self.peer.sock, {"ok": True})
            tensor = self.peer.transport.receive(getattr(torch, dtype), shape)
            self.count += 1
            self.nbytes += tensor.numel() * tensor.element_size()
            yield name, tensor


class GeneratorServer:
    """Serves one generator to any number of authenticated connections, one request at a time.

    Threads: one accepts, one per connection reads (handshake, then requests), and the thread
    that calls :meth:`serve_forever` runs every request on the engine, in the order they
    arrived. A connection's thread waits for its request's reply before reading on, so during a
    request (a weight stream included) only the engine's thread uses that socket."""

    def __init__(self, generator, model_path: str, host: str, port: int, token: bytes, timeout: float):
        self.generator, self.model_path, self.token, self.timeout = generator, model_path, token, timeout
        self.shapes = model_shapes(model_path)
        self.listener = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
        self.listener.settimeout(0.5)  # how soon the accepting thread notices a shutdown
        self.running = True
        self.requests: queue.Queue[tuple[_Peer, dict[str, Any], Future]] = queue.Queue()
        self._lock = threading.Lock()  # guards the two collections below
        self._pending: list[_Peer] = []  # unauthenticated, oldest first
        self._threads: set[threading.Thread] = set()
        self.handlers = {
            "info": self._info,
            "generate": self._generate,
            "fingerprints": lambda peer, msg: {"fingerprints": self.generator.fingerprints()},
            "open_transport": self._open_transport,
            "load_weights": self._load_weights,
            "shutdown": self._shutdown,
        }

    @property
    def port(self) -> int:
        return self.listener.getsockname()[1]

    def serve_forever(self) -> None:
        acceptor = threading.Thread(target=self._accept_loop, name="rlvr-accept", daemon=True)
        acceptor.start()
        try:
            while self.running:
                try:
                    peer, msg, done = self.requests.get(timeout=0.5)
                except queue.Empty:
                    continue
                done.set_result(self._execute(peer, msg))
        finally:
            with self._lock:
                self.running = False
                while not self.requests.empty():  # queued behind the last request: their peers are dropped
                    self.requests.get_nowait()[2].set_result(None)
            acceptor.join()
            self.listener.close()
            with self._lock:
                for peer in self._pending:
                    _cut(peer.sock)
                threads = list(self._threads)
            for thread in threads:  # each notices within a poll interval; the shutdown reply is flushed
                thread.join(timeout=5.0)

    # ------------------------------------------------------------------ connections

    def _accept_loop(self) -> None:
        while self.running:
            try:
                sock, addr = self.listener.accept()
            except TimeoutError:
                continue
            except OSError as e:  # out of file descriptors, say: the listener itself is fine
                _log(f"accept failed: {e}")
                time.sleep(0.1)
                continue
            peer = _Peer(sock, addr[0], f"{addr[0]}:{addr[1]}")
            with self._lock:
                same_host = [p for p in self._pending if p.host == peer.host]
                oldest = None
                if len(same_host) >= MAX_PENDING_PER_HOST:
                    oldest = same_host[0]
                elif len(self._pending) >= MAX_PENDING:
                    oldest = self._pending[0]
                if oldest is not None:
                    self._pending.remove(oldest)
                    _cut(oldest.sock)
                    _log(f"cut {oldest.name}: too many unauthenticated connections")
                self._pending.append(peer)
                thread = threading.Thread(target=self._connection, args=(peer,), name=f"rlvr-peer-{peer.name}", daemon=True)
                self._threads.add(thread)
            thread.start()

    def _connection(self, peer: _Peer) -> None:
        try:
            try:
                self._handshake(peer)
            except (OSError, ProtocolError) as e:
                _log(f"refused {peer.name}: {e}")
                return
            finally:
                with self._lock:
                    if peer in self._pending:
                        self._pending.remove(peer)
            _log(f"connected {peer.name}")
            self._serve_peer(peer)
        finally:
            if peer.transport is not None:
                peer.transport.close()
            peer.sock.close()
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _handshake(self, peer: _Peer) -> None:
        deadline = time.monotonic() + HANDSHAKE_SECONDS
        nonce = secrets.token_hex(16)
        peer.sock.settimeout(HANDSHAKE_SECONDS)
        send_message(peer.sock, {"op": "challenge", "nonce": nonce, "protocol": PROTOCOL})
        answer = recv_message(peer.sock, MAX_UNAUTHENTICATED, deadline)
        if not hmac.compare_digest(str(answer.get("mac", "")), auth_mac(self.token, nonce)):
            send_message(peer.sock, {"ok": False, "error": "authentication failed: wrong token"})
            raise ProtocolError("wrong token")
        send_message(peer.sock, {"ok": True})

    def _serve_peer(self, peer: _Peer) -> None:
        """Read requests, hand each to the engine's thread, send its reply; until either side stops."""
        with selectors.DefaultSelector() as idle:
            idle.register(peer.sock, selectors.EVENT_READ)
            while self.running:
                if not idle.select(timeout=0.5):  # a trainer may be idle for as long as it likes
                    continue
                peer.sock.settimeout(self.timeout)
                try:
                    msg = recv_message(peer.sock)
                except (OSError, ProtocolError) as e:
                    _log(f"dropped {peer.name}: {e}")
                    return
                done: Future = Future()
                with self._lock:  # once the engine's thread has stopped, nobody would answer
                    if not self.running:
                        return
                    self.requests.put((peer, msg, done))
                reply = done.result()
                if reply is None:
                    return
                try:
                    send_message(peer.sock, reply)
                except OSError as e:
                    _log(f"dropped {peer.name}: {e}")
                    return

    def _execute(self, peer: _Peer, msg: dict[str, Any]) -> dict[str, Any] | None:
        """Run one request on the engine: its reply, or None when the peer is gone."""
        op = msg.get("op")
        handler = self.handlers.get(op)
        try:
            if handler is None:
                raise ProtocolError(f"unknown request {op!r}")
            return {"ok": True, **handler(peer, msg)}
        except (OSError, ConnectionClosed) as e:  # the peer went away mid-request (its own weight stream included)
            _log(f"dropped {peer.name}: during {op}: {e}")
            return None
        except Exception as e:  # noqa: BLE001 - a bad request must not take the engine down for the others
            _log(f"{op} from {peer.name} failed: {type(e).__name__}: {e}")
            return {"ok": False, "error": f"{op} failed: {e}"}

    # ------------------------------------------------------------------ requests

    def _info(self, peer: _Peer, msg: dict[str, Any]) -> dict[str, Any]:
        return {
            "protocol": PROTOCOL,
            "model": self.model_path,
            "engine": self.generator.cfg.name,
            "dtype": self.generator.dtype,
            "shapes": self.shapes,
            "checks": [check_to_json(c) for c in self.generator.checks()],
        }

    def _generate(self, peer: _Peer, msg: dict[str, Any]) -> dict[str, Any]:
        from rlvr.config import from_dict

        prompts = msg.get("prompts")
        if not isinstance(prompts, list) or not all(isinstance(p, list) and all(type(t) is int for t in p) for p in prompts):
            raise ProtocolError("prompts must be lists of token ids")
        seed = msg.get("seed")
        if seed is not None and type(seed) is not int:
            raise ProtocolError("seed must be an integer or null")
        sampling = from_dict(SamplingConfig, msg.get("sampling"), "sampling")
        groups = self.generator.generate(prompts, sampling, seed=seed)
        return {"completions": [[asdict(c) for c in group] for group in groups]}

    def _open_transport(self, peer: _Peer, msg: dict[str, Any]) -> dict[str, Any]:
        if peer.transport is not None:
            peer.transport.close()
            peer.transport = None
        # The client hosts the group's store; its address is the one this connection came from.
        master = peer.sock.getpeername()[0]
        local = peer.sock.getsockname()[0]
        transport = TRANSPORTS.get(str(msg.get("backend")))
        transport.check()
        # Two replies: this one lets the client enter the rendezvous only once we are sure to join
        # it too (else it would wait out the timeout); the handler's reply says we have joined.
        send_message(peer.sock, {"ok": True})
        peer.transport = transport(master, int(msg["port"]), RECEIVER, local, self.timeout)
        _log(f"{msg['backend']} weight channel open with {peer.name}")
        return {}

    def _load_weights(self, peer: _Peer, msg: dict[str, Any]) -> dict[str, Any]:
        if peer.transport is None:
            raise ProtocolError("load_weights before open_transport")
        stream = _LoadStream(self, peer)
        start = time.perf_counter()
        self.generator.load_weights(stream)
        for _ in stream:  # an engine that stopped reading early must still leave the channel in step
            pass
        seconds = time.perf_counter() - start
        _log(f"loaded {stream.count} tensors ({stream.nbytes / 2**20:.1f} MiB) from {peer.name} in {seconds:.2f}s")
        return {"tensors": stream.count, "bytes": stream.nbytes, "seconds": seconds}

    def _shutdown(self, peer: _Peer, msg: dict[str, Any]) -> dict[str, Any]:
        _log(f"shutdown requested by {peer.name}")
        self.running = False
        return {}


def _cut(sock: socket.socket) -> None:
    """End a connection another thread is reading: its recv returns at once."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already gone


def _log(message: str) -> None:
    print(f"rlvr serve-generator: {message}", file=sys.stderr, flush=True)


def serve(cfg: ServeConfig, model: str, host: str, port: int, token_file: str | None) -> None:
    """Start the engine, then serve it on ``host:port`` until a client asks for shutdown."""
    from rlvr.models.load import load_tokenizer, resolve_model_path

    token = load_token(token_file, create=True)
    path = resolve_model_path(model)
    generator = build_generator(cfg.generator, path, load_tokenizer(path))
    try:
        server = GeneratorServer(generator, path, host, port, token, cfg.generator.request_timeout)
    except OSError as e:
        generator.close()
        raise RlvrError(f"cannot listen on {host}:{port}: {e.strerror}") from None
    _log(f"serving {model} ({cfg.generator.name}, {generator.dtype}) on {host}:{server.port}")
    try:
        server.serve_forever()
    finally:
        generator.close()
