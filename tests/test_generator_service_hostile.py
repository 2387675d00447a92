"""The generator service against hostile peers, on 127.0.0.1: after each attack the server is
alive and a legitimate client is served within a second. One real `rlvr serve-generator`
(the hf engine, quick to start) for the module; every loop here is bounded."""

from __future__ import annotations

import pickle
import secrets
import socket
import struct
import threading
import time

import pytest
from test_generator_service import Server

from rlvr.generation.base import GeneratorConfig
from rlvr.generation.remote.client import _Connection
from rlvr.generation.remote.protocol import HANDSHAKE_SECONDS, MAX_PENDING_PER_HOST, auth_mac, load_token

SERVED_WITHIN = 1.0


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("hostile"), "generator.name=hf")
    try:
        yield srv.wait_ready()
    finally:
        srv.kill()


def _legit_seconds(server: Server, generate: bool = False) -> float:
    """Seconds for a fresh legitimate client to authenticate and get its ``info`` request
    answered by the engine's thread; then (``generate``) a generation, which is not timed: the
    engine's own speed on shared CPUs is not what these tests measure."""
    # request_timeout: the old single-threaded server stalls this client for tens of seconds; fail fast instead
    cfg = GeneratorConfig(name="remote", address=server.address, token_file=str(server.token_file), request_timeout=5.0)
    start = time.monotonic()
    conn = _Connection(cfg, load_token(cfg.token_file))
    try:
        assert conn.request({"op": "info"})["model"].endswith("tiny-arith")
        seconds = time.monotonic() - start
        if generate:
            reply = conn.request({"op": "generate", "prompts": [[5, 6, 7]], "sampling": {"n": 1, "max_tokens": 4}, "seed": 0})
            assert len(reply["completions"]) == 1
    finally:
        conn.close()
    return seconds


def _assert_served(server: Server) -> None:
    assert server.proc.poll() is None, server.log.read_text()[-2000:]
    assert _legit_seconds(server) < SERVED_WITHIN


def _raw(server: Server) -> socket.socket:
    """A connection that has read the server's challenge."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    assert b'"op":"challenge"' in sock.recv(4096)
    return sock


def _closed_by_server(sock: socket.socket) -> bool:
    """True once the server has closed ``sock`` (a read timeout raises instead)."""
    try:
        while sock.recv(4096):  # a refusal may come first
            pass
    except ConnectionResetError:
        pass
    return True


@pytest.fixture(autouse=True)
def _warm(server):
    _legit_seconds(server, generate=True)  # the engine works; first use pays for imports, not the attack


def _frame(body: bytes) -> bytes:
    return struct.pack("!I", len(body)) + body


def test_deeply_nested_json_before_auth(server):
    """4,000 bytes of nesting, under the pre-auth size limit, used to raise RecursionError in the
    server's single loop and kill it."""
    with _raw(server) as sock:
        sock.sendall(_frame(b"[" * 4000))
        assert _closed_by_server(sock)
    assert "nests deeper than" in server.log.read_text()
    _assert_served(server)


def test_deeply_nested_json_after_auth(server):
    """An authenticated peer cannot take the server down with nesting either (the limit is for everyone)."""
    cfg = GeneratorConfig(name="remote", address=server.address, token_file=str(server.token_file))
    conn = _Connection(cfg, load_token(cfg.token_file))
    try:
        body = b'{"op":"generate","prompts":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
        conn.sock.sendall(_frame(body))
        assert _closed_by_server(conn.sock)
    finally:
        conn.close()
    _assert_served(server)


def test_idle_flood(server):
    """Idle connections that never answer the challenge used to delay every client by 10 s each."""
    idle = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(3 * MAX_PENDING_PER_HOST)]
    try:
        _assert_served(server)
        for sock in idle[:-MAX_PENDING_PER_HOST]:  # the cap held: all but the newest were cut, well before their deadline
            sock.settimeout(1.0)
            assert _closed_by_server(sock)
    finally:
        for s in idle:
            s.close()


def test_slow_loris_trickle(server):
    """A peer trickling its answer a byte at a time used to hold the server's only loop for as
    long as it kept going; now it holds its own thread, and only until the handshake deadline."""
    stop = threading.Event()
    closed_after: list[float] = []

    def trickle() -> None:
        with _raw(server) as sock:
            start = time.monotonic()
            try:
                for byte in _frame(b'{"mac":"' + b"0" * 2000 + b'"}'):  # bounded: ends long after the deadline
                    if stop.is_set():
                        return
                    sock.send(bytes([byte]))
                    time.sleep(0.1)
            except OSError:
                pass
            closed_after.append(time.monotonic() - start)

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        time.sleep(0.5)  # the trickle is under way
        _assert_served(server)
        thread.join(timeout=HANDSHAKE_SECONDS + 10)
        assert closed_after and closed_after[0] < HANDSHAKE_SECONDS + 2
    finally:
        stop.set()
        thread.join(timeout=5)


@pytest.mark.parametrize("length", [1 << 20, (1 << 32) - 1], ids=["1MiB", "4GiB"])
def test_oversize_frame(server, length):
    with _raw(server) as sock:
        sock.sendall(struct.pack("!I", length) + b"x" * 100)
        assert _closed_by_server(sock)
    assert "exceeds the limit" in server.log.read_text()
    _assert_served(server)


def test_replayed_mac(server):
    """A MAC seen on the wire answers that connection's nonce only."""
    token = load_token(str(server.token_file))
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        challenge = sock.recv(4096)
        nonce = challenge[challenge.index(b'"nonce":"') + 9 :].split(b'"')[0].decode()
        mac = auth_mac(token, nonce)
        sock.sendall(_frame(f'{{"mac":"{mac}"}}'.encode()))
        assert b'"ok":true' in sock.recv(4096)
    with _raw(server) as replay:
        replay.sendall(_frame(f'{{"mac":"{mac}"}}'.encode()))
        assert b"wrong token" in replay.recv(4096)
    _assert_served(server)


@pytest.mark.parametrize(
    "payload",
    [
        secrets.token_bytes(3000),
        _frame(pickle.dumps({"op": "shutdown"})),
        _frame(b"\xff\xfe" * 100),
        _frame(b'{"mac": NaN}'),
        _frame(b'["a list, not an object"]'),
        _frame(b""),
    ],
    ids=["random", "pickle", "not-utf8", "nan", "list", "empty"],
)
def test_garbage(server, payload):
    with _raw(server) as sock:
        sock.sendall(payload)
        assert _closed_by_server(sock)
    _assert_served(server)


def test_everything_at_once(server):
    """Every attack above in parallel, from one host, while a legitimate client connects."""
    socks = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(20)]
    try:
        for i, sock in enumerate(socks[:10]):
            sock.sendall([_frame(b"[" * 4000), struct.pack("!I", (1 << 32) - 1), secrets.token_bytes(500), b"\x00\x00"][i % 4])
        _assert_served(server)
    finally:
        for s in socks:
            s.close()
    _assert_served(server)
