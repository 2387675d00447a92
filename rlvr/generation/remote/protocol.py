"""The control channel's protocol, spoken by both :mod:`.server` and :mod:`.client`: length-prefixed
JSON messages (never pickle: a peer's bytes are data, not code), the HMAC challenge-response that
authenticates a connection, the limits a hostile peer runs into, and the model description both
sides compare."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import socket
import struct
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rlvr.errors import RlvrError
from rlvr.generation.weight_sync import Check, Source

PROTOCOL = 1
TOKEN_ENV = "RLVR_GENERATOR_TOKEN"
_HEADER = struct.Struct("!I")
MAX_MESSAGE = 1 << 30  # a generate reply for a large batch is tens of MB; this only bounds a corrupt length
MAX_UNAUTHENTICATED = 1 << 12  # before the token is proven, a peer may not make the server allocate more
MAX_DEPTH = 32  # protocol messages nest at most 4 deep; json's recursive parser must never see thousands
HANDSHAKE_SECONDS = 5.0  # the whole challenge-answer exchange, not each read: a byte-a-second trickle cannot extend it
# Unauthenticated connections allowed at once from one host and from everyone. When a new one
# would exceed a cap, the *oldest* waiting handshake is cut instead of refusing the newcomer: a
# legitimate client finishes its handshake in one round trip, so a flood cannot lock it out, and
# a flood from one host cannot cut another host's handshakes until the total cap is reached.
MAX_PENDING_PER_HOST = 4
MAX_PENDING = 64


class ProtocolError(RlvrError):
    """A peer sent something that is not a well-formed message of this protocol."""


class ConnectionClosed(ProtocolError):
    """The peer closed the connection."""


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


def recv_message(sock: socket.socket, limit: int = MAX_MESSAGE, deadline: float | None = None) -> dict[str, Any]:
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
    if _nesting(data) > MAX_DEPTH:
        raise ProtocolError(f"message nests deeper than {MAX_DEPTH} levels")
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
        raise RlvrError(
            f"no auth token for the generator service: set {TOKEN_ENV}, or give a token file "
            "(--token-file for rlvr serve-generator, generator.token_file for the trainer)"
        )
    if len(token) < 16:
        raise RlvrError(f"the generator auth token from {source} is shorter than 16 characters")
    return token.encode()


def model_shapes(model_path: str) -> dict[str, list[int]]:
    """HF parameter name -> shape of the model at ``model_path``, without reading weights (built
    on the meta device). Tied weights appear once, under the name the learner streams."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(model_path))
    return {name: list(p.shape) for name, p in model.named_parameters()}


def check_to_json(check: Check) -> dict[str, Any]:
    return asdict(check)


def check_from_json(data: dict[str, Any]) -> Check:
    return Check(data["key"], data["kind"], tuple(Source(**s) for s in data["sources"]), int(data["numel"]), int(data["in_features"]))
