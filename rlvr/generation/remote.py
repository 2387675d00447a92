"""A generator in its own process: ``rlvr serve-generator`` (the server) and ``generator.name:
remote`` (the trainer's client), for engines on other devices or nodes than the learner.

The split follows TRL's ``vllm serve`` + ``VLLMClient`` and vLLM's RLHF examples: a control
channel for requests, and a separate two-process collective group for the weights.

* **Control**: one TCP connection per trainer rank carrying length-prefixed JSON messages. Never
  pickle: a peer's bytes are data, not code. A connection authenticates first with an HMAC-SHA256
  answer to the server's random challenge, keyed by a shared token (``RLVR_GENERATOR_TOKEN`` or a
  token file), so the token never crosses the wire. The server handles one request at a time, in
  arrival order, across all connections: it has one engine.
* **Weights**: a 2-rank ``torch.distributed`` group between trainer rank 0 (rank 0 of the group,
  the sender) and the server (rank 1), built on its own ``TCPStore`` so the learner's default
  process group (DeepSpeed's) is never touched: ``ProcessGroupGloo`` on CPU, vLLM's
  ``PyNcclCommunicator`` over a ``StatelessProcessGroup`` on GPU (vLLM's own trainer-to-worker
  path). For each tensor the client announces (name, dtype, shape) on the control channel, the
  server checks it against its model and acks, then the tensor is broadcast; the server feeds the
  received tensors one by one into its generator's ``load_weights``. So, as in-process, no full
  model is ever materialised, on either side.

Verification is the in-process one, unchanged: :func:`rlvr.generation.weight_sync.sync_weights` streams
``learner.named_full_parameters()`` into :meth:`RemoteGenerator.load_weights`, accumulating the
expected fingerprints as tensors pass, then compares them with the fingerprints the *server*
computes from what its engine multiplies by. Tensors travel in the server's working dtype: the
engine would cast on load anyway and the expected fingerprints are taken after the same cast, so
a bf16 engine halves the bytes on the wire for free.

Multi-rank learners: every rank connects and may request generation for its own prompts; only
rank 0 sends weights, but every rank walks ``named_full_parameters()`` (ZeRO-3 gathers are
collective) and all ranks meet at a barrier before anyone asks for fingerprints or generates
with the new weights.

On connect the client compares the server model's tensor names and shapes with the trainer's
(a different architecture is an error), then rank 0 makes sure the server computes with the
trainer's starting weights (a resumed run, or a server started from another checkpoint): it
compares fingerprints with those of its own model files and, if they differ, streams the files
through the same verified path.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import queue
import re
import secrets
import selectors
import socket
import struct
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from rlvr.config import section
from rlvr.errors import RlvrError
from rlvr.generation.base import GENERATORS, Completion, GeneratorConfig, SamplingConfig, build_generator
from rlvr.registry import Registry
from rlvr.generation.weight_sync import RTOL, Check, Source, WeightSyncError, compare_fingerprints, expected_fingerprints, sync_weights

PROTOCOL = 1
TOKEN_ENV = "RLVR_GENERATOR_TOKEN"
_HEADER = struct.Struct("!I")
_MAX_MESSAGE = 1 << 30  # a generate reply for a large batch is tens of MB; this only bounds a corrupt length
_MAX_UNAUTHENTICATED = 1 << 12  # before the token is proven, a peer may not make the server allocate more
_MAX_DEPTH = 32  # protocol messages nest at most 4 deep; json's recursive parser must never see thousands
_HANDSHAKE_SECONDS = 5.0  # the whole challenge-answer exchange, not each read: a byte-a-second trickle cannot extend it
# Unauthenticated connections allowed at once from one host and from everyone. When a new one
# would exceed a cap, the *oldest* waiting handshake is cut instead of refusing the newcomer: a
# legitimate client finishes its handshake in one round trip, so a flood cannot lock it out, and
# a flood from one host cannot cut another host's handshakes until the total cap is reached.
_MAX_PENDING_PER_HOST = 4
_MAX_PENDING = 64


class ProtocolError(RlvrError):
    """A peer sent something that is not a well-formed message of this protocol."""


class ConnectionClosed(ProtocolError):
    """The peer closed the connection."""


# ----------------------------------------------------------------------------- framing and auth


def send_message(sock: socket.socket, message: dict[str, Any]) -> None:
    data = json.dumps(message, separators=(",", ":")).encode()
    sock.sendall(_HEADER.pack(len(data)) + data)


def _recv_exact(sock: socket.socket, count: int, deadline: float | None = None) -> bytes:
    parts, left = [], count
    while left:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("deadline passed before the message was complete")
            sock.settimeout(remaining)
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise ConnectionClosed("connection closed by the peer")
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def recv_message(sock: socket.socket, limit: int = _MAX_MESSAGE, deadline: float | None = None) -> dict[str, Any]:
    """The next message; ``deadline`` (``time.monotonic()``) bounds the whole read, not each recv."""
    (size,) = _HEADER.unpack(_recv_exact(sock, _HEADER.size, deadline))
    if size > limit:
        raise ProtocolError(f"message of {size} bytes exceeds the limit of {limit}")
    return parse_message(_recv_exact(sock, size, deadline))


# A JSON string (escapes included), and every byte that is not a bracket: what is left of a
# message without them is its bracket structure.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


def _nesting(data: bytes) -> int:
    """How deep ``data``'s arrays and objects nest, found without parsing it."""
    depth = deepest = 0
    for byte in _JSON_STRING.sub(b"", data).translate(None, _NOT_BRACKET):
        depth += 1 if byte in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def parse_message(data: bytes) -> dict[str, Any]:
    """A message body -> dict. The nesting is checked first: ``json`` parses recursively, and a
    few thousand ``[`` would raise RecursionError (or exhaust a thread's stack) inside it."""
    if _nesting(data) > _MAX_DEPTH:
        raise ProtocolError(f"message nests deeper than {_MAX_DEPTH} levels")
    try:
        message = json.loads(data, parse_constant=_no_constants)
    except ValueError as e:  # bad UTF-8, bad JSON, NaN/Infinity, an integer of too many digits
        raise ProtocolError(f"malformed message ({e})") from None
    if not isinstance(message, dict):
        raise ProtocolError("a message must be a JSON object")
    return message


def auth_mac(token: bytes, nonce: str) -> str:
    return hmac.new(token, nonce.encode(), hashlib.sha256).hexdigest()


def load_token(token_file: str | None, create: bool = False) -> bytes:
    """The shared secret: the contents of ``token_file`` when given (``create``: a fresh random
    token written with mode 0600 if the file does not exist yet), else ``$RLVR_GENERATOR_TOKEN``."""
    if token_file:
        path = Path(token_file).expanduser()
        if not path.exists() and create:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32) + "\n")
        try:
            token = path.read_text().strip()
        except OSError as e:
            raise RlvrError(f"cannot read the generator auth token file {path}: {e.strerror}") from None
        source = str(path)
    else:
        token, source = os.environ.get(TOKEN_ENV, "").strip(), f"${TOKEN_ENV}"
    if not token:
        raise RlvrError(f"no auth token for the generator service: set {TOKEN_ENV}, or give a token file "
                        "(--token-file for rlvr serve-generator, generator.token_file for the trainer)")
    if len(token) < 16:
        raise RlvrError(f"the generator auth token from {source} is shorter than 16 characters")
    return token.encode()


def parse_address(address: str) -> tuple[str, int]:
    """``host:port`` (IPv6 as ``[::1]:port``) -> (host, port)."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"generator.address must look like host:port, got '{address}'")
    return host.strip("[]"), int(port)


# ----------------------------------------------------------------------------- weight transports

TRANSPORTS: Registry = Registry("weight transport", "rlvr.weight_transports")
SENDER, RECEIVER = 0, 1  # ranks in the 2-process weight group (vLLM's convention: the trainer is 0)


@TRANSPORTS.register("gloo")
class GlooTransport:
    """CPU tensors over a private ``ProcessGroupGloo`` (its own TCPStore, hosted by the sender)."""

    @staticmethod
    def check() -> None:
        """Gloo runs anywhere torch does."""

    def __init__(self, master: str, port: int, rank: int, local_host: str, timeout: float):
        import torch.distributed as dist

        wait = timedelta(seconds=timeout)
        self.store = dist.TCPStore(master, port, 2, is_master=rank == SENDER, timeout=wait, wait_for_workers=False)
        options = dist.ProcessGroupGloo._Options()
        # bind to the interface the control connection uses: the one that reaches the peer
        options._devices = [dist.ProcessGroupGloo.create_device(hostname=local_host)]
        options._timeout = wait
        self.group = dist.ProcessGroupGloo(self.store, rank, 2, options)

    def send(self, tensor) -> None:
        if tensor.numel():
            self.group.broadcast(tensor.cpu().contiguous(), SENDER).wait()

    def receive(self, dtype, shape: list[int]):
        import torch

        out = torch.empty(shape, dtype=dtype)
        if out.numel():
            self.group.broadcast(out, SENDER).wait()
        return out

    def close(self) -> None:
        del self.group, self.store


@TRANSPORTS.register("nccl")
class NcclTransport:
    """GPU tensors over vLLM's ``PyNcclCommunicator`` on a ``StatelessProcessGroup`` (what vLLM's
    weight-transfer engine and TRL's client use). Untested here: written for CUDA, none available."""

    @staticmethod
    def check() -> None:
        import torch

        if not torch.cuda.is_available():
            raise RlvrError("generator.transport=nccl needs a CUDA device on both sides; use gloo")

    def __init__(self, master: str, port: int, rank: int, local_host: str, timeout: float):
        import torch
        from vllm.distributed.weight_transfer.nccl_common import stateless_init_process_group

        self.device = torch.device("cuda", torch.cuda.current_device())
        self.comm = stateless_init_process_group(master, port, rank, 2, self.device)

    def _broadcast(self, tensor) -> None:
        import torch

        stream = torch.cuda.current_stream(self.device)
        self.comm.broadcast(tensor, src=SENDER, stream=stream)
        # The sender's tensor may be a ZeRO-3 gather freed right after; the receiver hands its
        # buffer to the engine: both must wait until NCCL is done with it.
        stream.synchronize()

    def send(self, tensor) -> None:
        if tensor.numel():
            self._broadcast(tensor.to(self.device).contiguous())

    def receive(self, dtype, shape: list[int]):
        import torch

        out = torch.empty(shape, dtype=dtype, device=self.device)
        if out.numel():
            self._broadcast(out)
        return out

    def close(self) -> None:
        del self.comm


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


# ----------------------------------------------------------------------------- shared helpers


def model_shapes(model_path: str) -> dict[str, list[int]]:
    """HF parameter name -> shape of the model at ``model_path``, without reading weights (built
    on the meta device). Tied weights appear once, under the name the learner streams."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(model_path))
    return {name: list(p.shape) for name, p in model.named_parameters()}


def _check_to_json(check: Check) -> dict[str, Any]:
    return asdict(check)


def _check_from_json(data: dict[str, Any]) -> Check:
    return Check(data["key"], data["kind"], tuple(Source(**s) for s in data["sources"]), int(data["numel"]), int(data["in_features"]))


@dataclass
class ModelFiles:
    """The weights in a model directory, streamed like a learner's ``named_full_parameters``
    (one tensor read at a time), restricted to ``names``."""

    path: str
    names: set[str]

    def named_full_parameters(self) -> Iterator[tuple[str, Any]]:
        files = sorted(Path(self.path).glob("*.safetensors"))
        if not files:  # a hub id or a .bin checkpoint: transformers knows how to read it
            from rlvr.models.load import load_model

            yield from ((n, p.detach()) for n, p in load_model(self.path).named_parameters() if n in self.names)
            return
        from safetensors import safe_open

        for file in files:
            with safe_open(str(file), framework="pt") as f:
                for name in f.keys():  # noqa: SIM118 - safe_open is not a mapping
                    if name in self.names:
                        yield name, f.get_tensor(name)


# ----------------------------------------------------------------------------- server


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
                raise RlvrError(f"rejected tensor {name!r} {dtype} {shape}: the served model has "
                                f"{'no such tensor' if want is None else f'{self.server.generator.dtype} {want}'}")
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
                if len(same_host) >= _MAX_PENDING_PER_HOST:
                    oldest = same_host[0]
                elif len(self._pending) >= _MAX_PENDING:
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
        deadline = time.monotonic() + _HANDSHAKE_SECONDS
        nonce = secrets.token_hex(16)
        peer.sock.settimeout(_HANDSHAKE_SECONDS)
        send_message(peer.sock, {"op": "challenge", "nonce": nonce, "protocol": PROTOCOL})
        answer = recv_message(peer.sock, _MAX_UNAUTHENTICATED, deadline)
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
        return {"protocol": PROTOCOL, "model": self.model_path, "engine": self.generator.cfg.name, "dtype": self.generator.dtype,
                "shapes": self.shapes, "checks": [_check_to_json(c) for c in self.generator.checks()]}

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


# ----------------------------------------------------------------------------- client


def _world() -> tuple[int, int]:
    import torch.distributed as dist

    return (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)


class _Connection:
    """One authenticated control connection; turns every failure into a message naming the server."""

    def __init__(self, cfg: GeneratorConfig, token: bytes):
        self.address = cfg.address
        host, port = parse_address(cfg.address)
        deadline = time.monotonic() + cfg.connect_timeout
        while True:
            try:
                self.sock = socket.create_connection((host, port), timeout=max(1.0, min(10.0, cfg.connect_timeout)))
                break
            except OSError as e:
                if time.monotonic() >= deadline:
                    raise RlvrError(f"cannot reach the generator server at {self.address} ({e.strerror or e}) within "
                                    f"{cfg.connect_timeout:g}s; start it on that host with `rlvr serve-generator --model MODEL "
                                    f"--port {port}`, or fix generator.address") from None
                time.sleep(0.5)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(cfg.request_timeout)
        challenge = self._recv("connect")
        if challenge.get("protocol") != PROTOCOL:
            raise RlvrError(f"the generator server at {self.address} speaks protocol {challenge.get('protocol')}, this rlvr {PROTOCOL}: "
                            "run the same rlvr version on both sides")
        send_message(self.sock, {"op": "auth", "mac": auth_mac(token, str(challenge.get("nonce")))})
        if not self._recv("auth").get("ok"):
            raise RlvrError(f"the generator server at {self.address} refused the auth token: {TOKEN_ENV} or "
                            "generator.token_file must hold the token the server uses (its --token-file)")

    @property
    def local_host(self) -> str:
        return self.sock.getsockname()[0]

    def send(self, message: dict[str, Any]) -> None:
        try:
            send_message(self.sock, message)
        except OSError as e:
            raise self._lost(str(message.get("op")), e) from None

    def _recv(self, op: str) -> dict[str, Any]:
        try:
            return recv_message(self.sock)
        except TimeoutError:
            raise RlvrError(f"the generator server at {self.address} sent no reply to '{op}' within "
                            f"{self.sock.gettimeout():g}s (generator.request_timeout)") from None
        except (OSError, ConnectionClosed) as e:
            raise self._lost(op, e) from None

    def _lost(self, op: str, e: Exception) -> RlvrError:
        return RlvrError(f"lost the generator server at {self.address} during '{op}' ({e}): it stopped or crashed; "
                         "see its log, restart `rlvr serve-generator`, then continue with `rlvr train --resume`")

    def reply(self, op: str) -> dict[str, Any]:
        reply = self._recv(op)
        if not reply.get("ok"):
            raise RlvrError(f"generator server at {self.address}: {reply.get('error', 'request refused')}")
        return reply

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        self.send(message)
        return self.reply(str(message["op"]))

    def close(self) -> None:
        self.sock.close()


@GENERATORS.register("remote")
class RemoteGenerator:
    """The Generator protocol over a connection to ``rlvr serve-generator`` at ``generator.address``.

    Engine settings (dtype, max_model_len, chunk_size, ...) are the server's: set them on the
    ``rlvr serve-generator`` command line."""

    def __init__(self, cfg: GeneratorConfig, model_path: str, tokenizer):
        if not cfg.address:
            raise RlvrError("generator.name=remote needs generator.address=host:port (where `rlvr serve-generator` listens)")
        self.cfg = cfg
        self.rank, self.world_size = _world()
        self.conn = _Connection(cfg, load_token(cfg.token_file))
        # One exchange at a time on the connection (a rollout thread may share this generator).
        self._lock = threading.Lock()
        info = self.conn.request({"op": "info"})
        self.dtype: str = info["dtype"]
        self._checks = [_check_from_json(c) for c in info["checks"]]
        self.shapes: dict[str, list[int]] = info["shapes"]
        self._compare_models(model_shapes(model_path), model_path, info["model"])
        self.transport = None
        # Only rank 0 brings the server to the model files, so load_weights must not wait for
        # the other ranks until then; this barrier covers that load.
        self._collective = False
        if self.rank == 0:
            self._serve_trainer_weights(model_path)
        self._collective = True
        self._barrier()

    def _compare_models(self, mine: dict[str, list[int]], model_path: str, served: str) -> None:
        problems = [f"'{n}' is {mine[n]} here but {self.shapes[n]} on the server" for n in sorted(set(mine) & set(self.shapes))
                    if mine[n] != self.shapes[n]]
        problems += [f"'{n}' missing on the server" for n in sorted(set(mine) - set(self.shapes))]
        problems += [f"'{n}' only on the server" for n in sorted(set(self.shapes) - set(mine))]
        if problems:
            more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
            raise RlvrError(f"model mismatch: the generator server at {self.cfg.address} serves {served}, whose tensors differ from "
                            f"the trainer's {model_path}: {'; '.join(problems[:3])}{more}. Start the server with the trainer's model")

    def _serve_trainer_weights(self, model_path: str) -> None:
        """Make the server compute with ``model_path``'s weights, the trainer's starting point."""
        import torch

        wanted = {s.hf_name for c in self._checks for s in c.sources}
        expected = expected_fingerprints(self._checks, ModelFiles(model_path, wanted).named_full_parameters(), getattr(torch, self.dtype))
        try:
            compare_fingerprints(self.fingerprints(), expected, RTOL[self.dtype])
        except WeightSyncError:
            print(f"rlvr: the generator server at {self.cfg.address} holds other weights than {model_path}; sending them", file=sys.stderr)
            sync_weights(ModelFiles(model_path, set(self.shapes)), self)

    def _barrier(self) -> None:
        if self._collective and self.world_size > 1:
            import torch.distributed as dist

            dist.barrier()

    # ------------------------------------------------------------------ the Generator protocol

    def generate(self, prompts: list[list[int]], sampling: SamplingConfig, seed: int | None = None) -> list[list[Completion]]:
        with self._lock:
            reply = self.conn.request({"op": "generate", "prompts": [list(map(int, p)) for p in prompts], "sampling": asdict(sampling), "seed": seed})
        return [[Completion(**c) for c in group] for group in reply["completions"]]

    def load_weights(self, named_tensors: Iterable[tuple[str, Any]]) -> None:
        if self.rank == 0:
            with self._lock:
                self._send_weights(named_tensors)
        else:
            for _ in named_tensors:  # ZeRO-3 gathers are collective: every rank walks the stream
                pass
        self._barrier()  # nobody generates or checks before the server has the new weights

    def _open_transport(self) -> None:
        import torch

        backend = self.cfg.transport if self.cfg.transport != "auto" else ("nccl" if torch.cuda.is_available() else "gloo")
        transport = TRANSPORTS.get(backend)
        transport.check()
        port = _free_port()
        self.conn.request({"op": "open_transport", "backend": backend, "port": port})
        try:  # the server is joining the rendezvous now
            self.transport = transport(self.conn.local_host, port, SENDER, self.conn.local_host, self.cfg.request_timeout)
        except RuntimeError as e:
            raise RlvrError(f"cannot open the {backend} weight channel to the generator server at {self.cfg.address}: {e}") from None
        self.conn.reply("open_transport")

    def _send_weights(self, named_tensors: Iterable[tuple[str, Any]]) -> None:
        import torch

        if self.transport is None:
            self._open_transport()
        dtype = getattr(torch, self.dtype)
        self.conn.send({"op": "load_weights"})
        for name, tensor in named_tensors:
            wire = tensor.detach().to(dtype)  # the cast loading would do (and the expected fingerprints assume)
            self.conn.request({"op": "tensor", "name": name, "dtype": self.dtype, "shape": list(wire.shape)})
            try:
                self.transport.send(wire)
            except RuntimeError as e:
                raise RlvrError(f"weight transfer to the generator server at {self.cfg.address} failed at '{name}' ({e}): "
                                "it stopped or crashed; see its log") from None
        self.conn.request({"op": "end"})

    def checks(self) -> list[Check]:
        return list(self._checks)

    def fingerprints(self) -> dict[str, list[float]]:
        with self._lock:
            return self.conn.request({"op": "fingerprints"})["fingerprints"]

    def expected_fingerprints(self, named_tensors: Iterable[tuple[str, Any]]) -> dict[str, list[float]]:
        import torch

        return expected_fingerprints(self._checks, named_tensors, getattr(torch, self.dtype))

    def shutdown(self) -> None:
        """Stop the server (its engine too): for the process that owns it, e.g. a test."""
        self.conn.request({"op": "shutdown"})

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None
        self.conn.close()
