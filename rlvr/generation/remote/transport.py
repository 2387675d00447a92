"""The weight channel: a private 2-process ``torch.distributed`` group between trainer rank 0 (the
sender) and the server (the receiver), one transport per backend in :data:`TRANSPORTS`."""

from __future__ import annotations

import socket
from datetime import timedelta

from rlvr.errors import RlvrError
from rlvr.registry import Registry

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]
