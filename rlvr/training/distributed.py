"""Data-parallel plumbing: the process group, collectives over Python objects and flags, and how a
step's rows are shared out so that every rank runs the same number of forward passes.

Everything here is the identity (no collective, no ``torch`` import) with one process,
so single-process code calls it unconditionally. Every rank must call each collective, in the same
order: the trainer keeps that by deciding everything that shapes the sequence of calls (how many
micro-batches, whether to stop) from data every rank holds.
"""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

# Distinct per-rank sampling seeds: far above any step * 997 + round the single-rank formula reaches.
RANK_SEED_STRIDE = 1_000_000_007


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` now (for a rendezvous the launcher did not set up; ``""``: on
    every interface, for a peer on another machine)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def init_distributed() -> tuple[int, int]:
    """Join the process group a launcher (torchrun/deepspeed) set up, or make a 1-process one."""
    import torch
    import torch.distributed as dist

    # DeepSpeed reads these even when a process group exists (vLLM may have made a 1-process one).
    os.environ.setdefault("RANK", str(dist.get_rank()) if dist.is_initialized() else "0")
    os.environ.setdefault("LOCAL_RANK", os.environ["RANK"])
    os.environ.setdefault("WORLD_SIZE", str(dist.get_world_size()) if dist.is_initialized() else "1")
    if not dist.is_initialized():
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", str(free_port()))
        import deepspeed

        deepspeed.init_distributed(dist_backend="nccl" if torch.cuda.is_available() else "gloo", verbose=False)
    _forget_stale_deepspeed_groups()
    return dist.get_rank(), dist.get_world_size()


def _forget_stale_deepspeed_groups() -> None:
    """DeepSpeed caches a clone of the world group. When the default group was destroyed and made
    again in this process (vLLM's shutdown destroys it), the clone is stale and every engine built
    afterwards fails ("Group ... is not registered"): drop it so DeepSpeed clones the live one."""
    import torch.distributed as dist
    from deepspeed.utils import groups

    world = dist.distributed_c10d._get_default_group()
    if getattr(groups, "_rlvr_default_group", None) is not world:
        groups._WORLD_GROUP = None
        groups._rlvr_default_group = world


# ----------------------------------------------------------------------------- collectives


def all_gather(obj: Any, world_size: int) -> list[Any]:
    """Every rank's ``obj``, in rank order (``[obj]`` in a single process)."""
    if world_size == 1:
        return [obj]
    import torch.distributed as dist

    out: list[Any] = [None] * world_size
    dist.all_gather_object(out, obj)
    return out


def from_rank0(obj: Any, world_size: int) -> Any:
    """Rank 0's ``obj`` on every rank (the other ranks block here until rank 0 gets here)."""
    if world_size == 1:
        return obj
    import torch.distributed as dist

    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def any_rank(flag: bool, world_size: int) -> bool:
    """``flag`` on any rank."""
    if world_size == 1:
        return flag
    import torch
    import torch.distributed as dist

    t = torch.tensor([int(flag)], device="cuda" if torch.cuda.is_available() else "cpu")
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def sum_over_ranks(value: float, world_size: int) -> float:
    """The sum of every rank's ``value`` (float64, so token counts stay exact)."""
    if world_size == 1:
        return value
    import torch
    import torch.distributed as dist

    t = torch.tensor([float(value)], dtype=torch.float64)
    dist.all_reduce(t)
    return float(t[0])


def assemble_rows(tensors: list[torch.Tensor | None], world_size: int) -> None:
    """Complete, in place, whole-batch tensors of which each rank filled its own rows and left
    the others zero: rows are disjoint across ranks, so a SUM all-reduce is exact."""
    if world_size == 1:
        return
    import torch.distributed as dist

    for t in tensors:
        if t is not None:
            dist.all_reduce(t)


# ----------------------------------------------------------------------------- sharing out a step


def rank_rows(group_ids: torch.Tensor, rank: int, world_size: int, groups: set[int] | None = None) -> list[int]:
    """Rows that rank ``rank`` trains on: those of every ``world_size``-th group (of ``groups``
    only, when given). Whole groups, so each rank's rows stay balanced after dynamic sampling."""
    return [i for i, g in enumerate(group_ids.tolist()) if g % world_size == rank and (groups is None or g in groups)]
