"""``generator.name: remote``: the trainer's side of :mod:`rlvr.generation.remote`, the
Generator protocol over a connection to ``rlvr serve-generator``."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rlvr.errors import RlvrError
from rlvr.generation.base import GENERATORS, Completion, GeneratorConfig, SamplingConfig, parse_address
from rlvr.generation.remote.protocol import (
    PROTOCOL,
    TOKEN_ENV,
    ConnectionClosed,
    auth_mac,
    check_from_json,
    load_token,
    model_shapes,
    recv_message,
    send_message,
)
from rlvr.generation.remote.transport import SENDER, TRANSPORTS, free_port
from rlvr.generation.weight_sync import RTOL, Check, WeightSyncError, compare_fingerprints, expected_fingerprints, sync_weights


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
                    raise RlvrError(
                        f"cannot reach the generator server at {self.address} ({e.strerror or e}) within "
                        f"{cfg.connect_timeout:g}s; start it on that host with `rlvr serve-generator --model MODEL "
                        f"--port {port}`, or fix generator.address"
                    ) from None
                time.sleep(0.5)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(cfg.request_timeout)
        challenge = self._recv("connect")
        if challenge.get("protocol") != PROTOCOL:
            raise RlvrError(
                f"the generator server at {self.address} speaks protocol {challenge.get('protocol')}, this rlvr {PROTOCOL}: "
                "run the same rlvr version on both sides"
            )
        send_message(self.sock, {"op": "auth", "mac": auth_mac(token, str(challenge.get("nonce")))})
        if not self._recv("auth").get("ok"):
            raise RlvrError(
                f"the generator server at {self.address} refused the auth token: {TOKEN_ENV} or "
                "generator.token_file must hold the token the server uses (its --token-file)"
            )

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
            raise RlvrError(
                f"the generator server at {self.address} sent no reply to '{op}' within {self.sock.gettimeout():g}s (generator.request_timeout)"
            ) from None
        except (OSError, ConnectionClosed) as e:
            raise self._lost(op, e) from None

    def _lost(self, op: str, e: Exception) -> RlvrError:
        return RlvrError(
            f"lost the generator server at {self.address} during '{op}' ({e}): it stopped or crashed; "
            "see its log, restart `rlvr serve-generator`, then continue with `rlvr train --resume`"
        )

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
        self._checks = [check_from_json(c) for c in info["checks"]]
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
        problems = [
            f"'{n}' is {mine[n]} here but {self.shapes[n]} on the server" for n in sorted(set(mine) & set(self.shapes)) if mine[n] != self.shapes[n]
        ]
        problems += [f"'{n}' missing on the server" for n in sorted(set(mine) - set(self.shapes))]
        problems += [f"'{n}' only on the server" for n in sorted(set(self.shapes) - set(mine))]
        if problems:
            more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
            raise RlvrError(
                f"model mismatch: the generator server at {self.cfg.address} serves {served}, whose tensors differ from "
                f"the trainer's {model_path}: {'; '.join(problems[:3])}{more}. Start the server with the trainer's model"
            )

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
        port = free_port()
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
                raise RlvrError(
                    f"weight transfer to the generator server at {self.cfg.address} failed at '{name}' ({e}): it stopped or crashed; see its log"
                ) from None
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
