"""A run directory and what every stage writes into it.

    <output_dir>/config.yaml       the resolved config (what actually ran)
    <output_dir>/metrics.jsonl     one JSON line per logged step, always
    <output_dir>/checkpoints/step_000100/   atomic checkpoints (model in safetensors + optimizer state)
    <output_dir>/final/            the final model as a save_pretrained directory
    <output_dir>/*.png             curves drawn at the end

Metrics also go to TensorBoard and/or Weights & Biases when the config asks.
"""

from __future__ import annotations

import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlvr.config import field, save_config
from rlvr.errors import RlvrError
from rlvr.io import JsonlWriter, atomic_write_json, read_jsonl


@dataclass
class RunConfig:
    """Where a run writes, how often it logs and checkpoints, and whether it resumes."""

    output_dir: str = field("runs/default", help="run directory (config, metrics, checkpoints, final model, plots)")
    seed: int = field(0, help="seed for data order, initialisation and sampling")
    resume: bool = field(False, help="continue from the newest checkpoint in output_dir (also: --resume)")
    overwrite: bool = field(False, help="allow starting afresh in a non-empty output_dir (deletes its checkpoints)")
    log_every: int = field(1, ge=1, help="write metrics every N steps")
    save_every: int = field(100, ge=0, help="checkpoint every N steps (0: only at the end)")
    keep_checkpoints: int = field(2, ge=0, help="how many recent checkpoints to keep (0: all)")
    tensorboard: bool = field(False, help="also log metrics to TensorBoard (<output_dir>/tb)")
    wandb_project: str | None = field(None, help="also log metrics to this Weights & Biases project")
    progress: bool = field(True, help="show a progress bar")


class RunDir:
    """Creates the run directory, writes the config, and refuses to clobber an earlier run by accident."""

    def __init__(self, cfg: RunConfig, full_config: Any, is_main: bool = True):
        self.cfg = cfg
        self.path = Path(cfg.output_dir)
        self.is_main = is_main
        self.checkpoints = self.path / "checkpoints"
        has_ckpt = self.checkpoints.is_dir() and any(self.checkpoints.glob("step_*"))
        if has_ckpt and not cfg.resume and not cfg.overwrite:
            raise RlvrError(
                f"{self.path} already holds checkpoints; pass --resume to continue it, run.overwrite=true to start over, "
                "or choose another run.output_dir"
            )
        if is_main:
            if cfg.overwrite and not cfg.resume:
                for name in ("checkpoints", "final", "metrics.jsonl"):
                    target = self.path / name
                    if target.is_dir():
                        shutil.rmtree(target)
                    elif target.exists():
                        target.unlink()
            self.path.mkdir(parents=True, exist_ok=True)
            save_config(full_config, self.path / "config.yaml")

    def write_json(self, name: str, obj: Any) -> None:
        if self.is_main:
            atomic_write_json(self.path / name, obj)


class MetricsLogger:
    """metrics.jsonl always; TensorBoard and W&B when configured. Only rank 0 writes."""

    def __init__(self, run: RunDir, resume_step: int = 0, config: Any = None):
        self.enabled = run.is_main
        self.path = run.path / "metrics.jsonl"
        self._tb = self._wandb = None
        if not self.enabled:
            return
        if resume_step:
            # Lines logged after the checkpoint we resume from would be logged again: drop them.
            kept = [r for r in read_jsonl(self.path) if r.get("step", 0) <= resume_step]
            with JsonlWriter(self.path, truncate=True) as w:
                for r in kept:
                    w.write(r)
        elif self.path.exists():
            self.path.unlink()
        self._jsonl = JsonlWriter(self.path)
        if run.cfg.tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                raise RlvrError("run.tensorboard=true needs tensorboard: pip install 'rlvr[log]'") from None
            self._tb = SummaryWriter(str(run.path / "tb"))
        if run.cfg.wandb_project:
            try:
                import wandb
            except ImportError:
                raise RlvrError("run.wandb_project needs wandb: pip install 'rlvr[log]'") from None
            from rlvr.config import to_dict

            self._wandb = wandb.init(project=run.cfg.wandb_project, dir=str(run.path), config=to_dict(config) if config else None)

    def log(self, step: int, metrics: dict[str, Any]) -> None:
        if not self.enabled:
            return
        record = {"step": step, "time": round(time.time(), 3)}
        record.update({k: _scalar(v) for k, v in metrics.items()})
        self._jsonl.write(record)
        numeric = {k: v for k, v in record.items() if isinstance(v, (int, float)) and k not in ("step", "time")}
        if self._tb is not None:
            for k, v in numeric.items():
                self._tb.add_scalar(k, v, step)
        if self._wandb is not None:
            self._wandb.log(numeric, step=step)

    def close(self) -> None:
        if not self.enabled:
            return
        self._jsonl.close()
        if self._tb is not None:
            self._tb.close()
        if self._wandb is not None:
            self._wandb.finish()


def _scalar(v: Any) -> Any:
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, float):
        return round(v, 6)
    return v


def plot_curves(metrics_path: Path, out_png: Path, keys: list[str], title: str, smooth: int = 1) -> Path | None:
    """One panel per key against step (dots raw, line smoothed over ``smooth`` points). None if no data."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_jsonl(metrics_path)
    keys = [k for k in keys if any(isinstance(r.get(k), (int, float)) for r in rows)]
    if not keys:
        return None
    fig, axes = plt.subplots(1, len(keys), figsize=(4.5 * len(keys), 3.4), squeeze=False)
    for ax, key in zip(axes[0], keys):
        pts = [(r["step"], r[key]) for r in rows if isinstance(r.get(key), (int, float))]
        xs, ys = zip(*pts)
        ax.plot(xs, ys, ".", alpha=0.35, color="tab:blue")
        if smooth > 1 and len(ys) > smooth:
            sm = [sum(ys[max(0, i - smooth + 1) : i + 1]) / len(ys[max(0, i - smooth + 1) : i + 1]) for i in range(len(ys))]
            ax.plot(xs, sm, "-", color="tab:blue")
        else:
            ax.plot(xs, ys, "-", color="tab:blue", alpha=0.7)
        ax.set_xlabel("step")
        ax.set_title(key)
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    from rlvr.io import atomic_write

    atomic_write(out_png, lambda p: fig.savefig(p, dpi=110, format="png"))
    plt.close(fig)
    return out_png
