"""Data-parallel plumbing shared by the training stages."""

from __future__ import annotations

from typing import Any


def from_rank0(obj: Any, world_size: int) -> Any:
    """Rank 0's ``obj`` on every rank (the other ranks block here until rank 0 gets here)."""
    if world_size == 1:
        return obj
    import torch.distributed as dist

    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]
