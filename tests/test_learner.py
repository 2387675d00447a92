"""The learner: DeepSpeed ZeRO stages and plain torch take identical steps; state survives a save/load."""

from __future__ import annotations

import pytest
import torch

from rlvr.models.load import load_model
from rlvr.training.learner import LearnerConfig, OptimConfig, build_learner


def _batches(vocab: int, n_micro: int = 3):
    g = torch.Generator().manual_seed(0)
    return [torch.randint(3, vocab, (2 + i, 12), generator=g) for i in range(n_micro)]


def _train(model_dir, backend: str, stage: int, steps: int = 2):
    model = load_model(str(model_dir))
    learner = build_learner(model, LearnerConfig(backend=backend, zero_stage=stage), OptimConfig(lr=1e-2, max_grad_norm=0.5), total_steps=steps)
    batches = _batches(model.config.vocab_size)
    total = sum(b.numel() for b in batches)
    stats = []
    for _ in range(steps):
        for i, ids in enumerate(batches):
            out = learner.forward(input_ids=ids, labels=ids)
            # labels' mean over this micro-batch, rescaled to a sum over the global batch
            learner.backward(out.loss * ids[:, 1:].numel() / total, last=i == len(batches) - 1)
        stats.append(learner.step())
    return learner, {k: v.detach().clone() for k, v in learner.named_full_parameters()}, stats


@pytest.mark.parametrize("stage", [0, 1, 2, 3])
def test_deepspeed_matches_torch(tiny_model_dir, stage):
    _, ref, ref_stats = _train(tiny_model_dir, "torch", 0)
    _, got, stats = _train(tiny_model_dir, "deepspeed", stage)
    assert ref.keys() == got.keys()
    for k in ref:
        torch.testing.assert_close(got[k], ref[k], rtol=1e-4, atol=1e-5, msg=k)
    assert stats[0]["grad_norm"] == pytest.approx(ref_stats[0]["grad_norm"], rel=1e-4)


@pytest.mark.parametrize("backend,stage", [("torch", 0), ("deepspeed", 1), ("deepspeed", 3)])
def test_optimizer_state_roundtrip(tiny_model_dir, tmp_path, backend, stage):
    learner, _, _ = _train(tiny_model_dir, backend, stage, steps=1)
    learner.save_state(tmp_path)
    before = learner.optimizer_state()
    fresh = build_learner(load_model(str(tiny_model_dir)), LearnerConfig(backend=backend, zero_stage=stage), OptimConfig(), total_steps=1)
    fresh.load_state(tmp_path)
    assert fresh.step_count == 1
    after = fresh.optimizer_state()
    flat_b = [t for t in _tensors(before)]
    flat_a = [t for t in _tensors(after)]
    assert len(flat_b) == len(flat_a) > 0
    for a, b in zip(flat_a, flat_b):
        torch.testing.assert_close(a, b)


def _tensors(obj):
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, dict):
        for k in sorted(obj, key=str):
            yield from _tensors(obj[k])
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _tensors(v)


# ----------------------------------------------------------------------------- finiteness guard


def _nan_step(learner, ids, poison: bool):
    """One optimizer step on ``ids``; ``poison``: the loss (so every gradient) is NaN."""
    out = learner.forward(input_ids=ids, labels=ids)
    learner.backward(out.loss * (float("nan") if poison else 1.0), last=True)
    return learner.step()


def _weights(learner):
    return {k: v.detach().clone() for k, v in learner.named_full_parameters()}


@pytest.mark.parametrize("backend,stage", [("torch", 0), ("deepspeed", 0), ("deepspeed", 1)])
def test_nonfinite_loss_skips_the_update_and_is_counted(tiny_model_dir, backend, stage):
    """Before the guard the torch backend (and ZeRO-0) applied NaN gradients, and DeepSpeed's
    ZeRO optimizers skipped the step without the run knowing."""
    model = load_model(str(tiny_model_dir))
    learner = build_learner(model, LearnerConfig(backend=backend, zero_stage=stage), OptimConfig(lr=1e-2), total_steps=3)
    ids = _batches(model.config.vocab_size, 1)[0]
    before = _weights(learner)
    info = _nan_step(learner, ids, poison=True)
    assert info["nonfinite_steps"] == 1 and learner.step_count == 1
    after = _weights(learner)
    assert all(torch.equal(before[k], after[k]) for k in before)  # the update was skipped
    info = _nan_step(learner, ids, poison=False)  # a finite step still trains, and ends the run of bad ones
    assert info["nonfinite_steps"] == 1 and info["grad_norm"] > 0
    assert any(not torch.equal(after[k], v) for k, v in _weights(learner).items())
    _nan_step(learner, ids, poison=True)  # one bad step after a good one is not "in a row"


def test_k_nonfinite_steps_in_a_row_stop_the_run(tiny_model_dir):
    from rlvr.training.learner import NonFiniteError

    model = load_model(str(tiny_model_dir))
    learner = build_learner(model, LearnerConfig(backend="torch", max_nonfinite_steps=2), OptimConfig(lr=1e-2), total_steps=3)
    ids = _batches(model.config.vocab_size, 1)[0]
    _nan_step(learner, ids, poison=True)
    with pytest.raises(NonFiniteError, match=r"non-finite loss .* at optimizer step 2, 2 step\(s\) in a row \(learner\.max_nonfinite_steps=2\)"):
        _nan_step(learner, ids, poison=True)


def test_nonfinite_weights_after_a_finite_step_stop_the_run(tiny_model_dir):
    """lr=1e30 with weight decay 1e10 are finite, and so are the step's loss and gradient norm,
    but AdamW's decoupled decay (w *= 1 - lr * decay) overflows float32: the weights are inf."""
    from rlvr.training.learner import NonFiniteError

    model = load_model(str(tiny_model_dir))
    learner = build_learner(model, LearnerConfig(backend="torch"), OptimConfig(lr=1e30, weight_decay=1e10), total_steps=3)
    with pytest.raises(NonFiniteError, match=r"non-finite weights after optimizer step 1 \(first: model\.embed_tokens\.weight\)"):
        _nan_step(learner, _batches(model.config.vocab_size, 1)[0], poison=False)


def test_a_learning_rate_that_wipes_out_the_model_is_warned_about(tiny_model_dir, capsys):
    """optim.lr=10 collapsed accuracy to 0 in one step with nothing non-finite for the guard to see."""
    build_learner(load_model(str(tiny_model_dir)), LearnerConfig(backend="torch"), OptimConfig(lr=10.0), total_steps=1)
    assert "optim.lr=10 is far above" in capsys.readouterr().err
    build_learner(load_model(str(tiny_model_dir)), LearnerConfig(backend="torch"), OptimConfig(lr=1e-3), total_steps=1)
    assert "warning" not in capsys.readouterr().err
