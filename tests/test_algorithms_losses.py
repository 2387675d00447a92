"""Policy and value losses: hand-computed values, clipping gradients, and the micro-batch contract."""

from __future__ import annotations

import math

import pytest
import torch

from rlvr.algorithms.aggregation import AGGREGATIONS, LossScale, reduce_metrics
from rlvr.algorithms.logprobs import entropy_from_logits, logprobs_from_logits
from rlvr.algorithms.losses import POLICY_LOSSES, LossInput, PolicyLossConfig, compute_policy_loss
from rlvr.algorithms.value import ValueLossConfig, ValueLossInput, value_loss
from rlvr.config import from_dict
from rlvr.errors import ConfigError


def _ppo(ratios: list[float], adv: list[float], **cfg) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """Loss and d loss / d logprobs for one sequence with the given ratios and advantages."""
    logp = torch.tensor([[math.log(r) for r in ratios]], requires_grad=True)
    mask = torch.ones_like(logp)
    inp = LossInput(logprobs=logp, old_logprobs=torch.zeros_like(logp), advantages=torch.tensor([adv]), mask=mask)
    out = compute_policy_loss(inp, LossScale.of(mask), PolicyLossConfig(**cfg))
    (grad,) = torch.autograd.grad(out.loss, logp)
    return out.loss.detach(), grad[0], out.metrics


def test_registries():
    assert {"ppo_clip", "gspo", "sft"} <= set(POLICY_LOSSES.names())
    assert set(AGGREGATIONS.names()) == {"token_mean", "seq_mean_token_mean", "seq_mean_token_sum", "dr_grpo"}


def test_ppo_clip_hand_computed_positive_advantage():
    # ratio 0.5: unclipped -0.5 (pessimistic max) ; 1.0: -1 ; 1.5: clipped to -1.2
    loss, grad, m = _ppo([0.5, 1.0, 1.5], [1.0, 1.0, 1.0])
    assert loss.item() == pytest.approx((-0.5 - 1.0 - 1.2) / 3)
    # d/dlogp of -A * ratio is -A * ratio; the clipped token has no gradient
    assert torch.allclose(grad, torch.tensor([-0.5 / 3, -1.0 / 3, 0.0]))
    assert m["clip_frac"].item() == pytest.approx(1 / 3)
    assert m["clip_frac_high"].item() == pytest.approx(1 / 3)
    assert m["ratio_max"].item() == pytest.approx(1.5)


def test_ppo_clip_negative_advantage_clips_low_side():
    # A < 0: ratio 0.5 is clipped at 0.8 (no gradient); ratio 1.5 is not clipped (gradient ratio / 3)
    loss, grad, m = _ppo([0.5, 1.5], [-1.0, -1.0])
    assert loss.item() == pytest.approx((0.8 + 1.5) / 2)
    assert torch.allclose(grad, torch.tensor([0.0, 1.5 / 2]))
    assert m["clip_frac_low"].item() == pytest.approx(0.5)


def test_clip_higher_and_dual_clip():
    _, grad, _ = _ppo([1.25], [1.0], clip_high=0.2)
    assert grad.item() == 0.0
    _, grad, _ = _ppo([1.25], [1.0], clip_high=0.28)  # DAPO clip-higher: still learning
    assert grad.item() == pytest.approx(-1.25)
    loss, grad, m = _ppo([5.0], [-1.0], dual_clip=3.0)  # loss capped at -c * A = 3, no gradient
    assert loss.item() == pytest.approx(3.0) and grad.item() == 0.0
    assert m["dual_clip_frac"].item() == 1.0
    loss, grad, _ = _ppo([5.0], [-1.0])
    assert loss.item() == pytest.approx(5.0) and grad.item() == pytest.approx(5.0)


def test_truncated_importance_sampling():
    logp = torch.zeros(1, 2, requires_grad=True)
    mask = torch.ones(1, 2)
    gen = torch.tensor([[-math.log(3.0), -math.log(1.5)]])  # weights pi_old / pi_gen = 3 (capped at 2), 1.5
    inp = LossInput(logprobs=logp, old_logprobs=torch.zeros(1, 2), advantages=torch.ones(1, 2), mask=mask, generator_logprobs=gen)
    out = compute_policy_loss(inp, LossScale.of(mask), PolicyLossConfig(tis_cap=2.0))
    assert out.loss.item() == pytest.approx((-2.0 - 1.5) / 2)
    assert out.metrics["tis_weight_mean"].item() == pytest.approx(1.75)
    assert out.metrics["tis_capped_frac"].item() == pytest.approx(0.5)
    with pytest.raises(ValueError, match="generator_logprobs"):
        inp.generator_logprobs = None
        compute_policy_loss(inp, LossScale.of(mask), PolicyLossConfig(tis_cap=2.0))


def test_gspo_matches_paper_objective():
    gen = torch.Generator().manual_seed(1)
    logp = (torch.randn(3, 5, generator=gen) * 0.05 - 1).requires_grad_()
    old = logp.detach() + torch.randn(3, 5, generator=gen) * 0.05
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 1, 1, 0, 0]], dtype=torch.float32)
    adv_seq = torch.tensor([1.0, -1.0, 0.5])
    cfg = PolicyLossConfig(name="gspo", clip_low=0.01, clip_high=0.02, aggregation="seq_mean_token_mean")
    inp = LossInput(logprobs=logp, old_logprobs=old, advantages=adv_seq[:, None] * mask, mask=mask)
    out = compute_policy_loss(inp, LossScale.of(mask), cfg)
    (g_ours,) = torch.autograd.grad(out.loss, logp)
    # GSPO paper: J = 1/G sum_i min(s_i A_i, clip(s_i) A_i), s_i = exp(mean_t log(pi/pi_old))
    s = torch.exp(((logp - old) * mask).sum(-1) / mask.sum(-1))
    objective = torch.minimum(s * adv_seq, s.clamp(1 - 0.01, 1 + 0.02) * adv_seq).mean()
    (g_paper,) = torch.autograd.grad(-objective, logp)
    assert torch.allclose(out.loss, -objective.detach(), atol=1e-6)
    assert torch.allclose(g_ours, g_paper, atol=1e-6)


def test_gspo_sequence_level_clipping():
    # log ratios ln 1.1, ln 0.9: s = sqrt(0.99) ~ 0.995, below 1 - 3e-4
    logp = torch.tensor([[math.log(1.1), math.log(0.9)]], requires_grad=True)
    mask = torch.ones(1, 2)
    s = math.sqrt(0.99)
    for adv, clipped in ((1.0, False), (-1.0, True)):
        inp = LossInput(logprobs=logp, old_logprobs=torch.zeros(1, 2), advantages=torch.full((1, 2), adv), mask=mask)
        cfg = PolicyLossConfig(name="gspo", clip_low=3e-4, clip_high=4e-4, aggregation="seq_mean_token_mean")
        out = compute_policy_loss(inp, LossScale.of(mask), cfg)
        (grad,) = torch.autograd.grad(out.loss, logp)
        if clipped:  # A < 0 and s < 1 - eps: the whole sequence is clipped
            assert out.loss.item() == pytest.approx(1 - 3e-4) and torch.all(grad == 0)
        else:
            assert out.loss.item() == pytest.approx(-s)
            assert torch.allclose(grad, torch.full((1, 2), -s / 2))


def test_sft_kl_and_entropy_terms():
    logp = torch.log(torch.tensor([[0.5, 0.25, 0.9]])).requires_grad_()
    mask = torch.tensor([[1.0, 1.0, 0.0]])
    scale = LossScale.of(mask)
    out = compute_policy_loss(LossInput(logprobs=logp, mask=mask), scale, PolicyLossConfig(name="sft"))
    assert out.loss.item() == pytest.approx((math.log(2) + math.log(4)) / 2)
    (grad,) = torch.autograd.grad(out.loss, logp)
    assert torch.allclose(grad, torch.tensor([[-0.5, -0.5, 0.0]]))

    ref = torch.log(torch.tensor([[0.25, 0.25, 0.1]]))
    entropy = torch.tensor([[1.0, 3.0, 100.0]])
    inp = LossInput(logprobs=logp, mask=mask, ref_logprobs=ref, entropy=entropy)
    cfg = PolicyLossConfig(name="sft", kl_coef=0.1, kl_estimator="k1", entropy_coef=0.01)
    out2 = compute_policy_loss(inp, scale, cfg)
    kl = math.log(2) / 2  # k1 per token [ln 2, 0], token mean
    assert out2.metrics["kl"].item() == pytest.approx(kl)
    assert out2.metrics["entropy"].item() == pytest.approx(2.0)
    assert out2.loss.item() == pytest.approx(out.loss.item() + 0.1 * kl - 0.01 * 2.0)
    with pytest.raises(ValueError, match="ref_logprobs"):
        compute_policy_loss(LossInput(logprobs=logp, mask=mask), scale, PolicyLossConfig(name="sft", kl_coef=0.1))


def test_aggregation_modes_hand_computed():
    # per-token nll 1 everywhere; two sequences of length 1 and 3; T = 4
    logp = torch.full((2, 4), -1.0, requires_grad=True)
    mask = torch.tensor([[1.0, 0, 0, 0], [1, 1, 1, 0]])
    scale = LossScale.of(mask, max_len=8)
    assert (scale.num_tokens, scale.num_sequences, scale.max_len) == (4, 2, 8)
    expected = {"token_mean": 1.0, "seq_mean_token_mean": 1.0, "seq_mean_token_sum": 2.0, "dr_grpo": 4 / 16}
    grads = {"token_mean": 1 / 4, "seq_mean_token_mean": None, "seq_mean_token_sum": 1 / 2, "dr_grpo": 1 / 16}
    for mode, value in expected.items():
        out = compute_policy_loss(LossInput(logprobs=logp, mask=mask), scale, PolicyLossConfig(name="sft", aggregation=mode))
        assert out.loss.item() == pytest.approx(value), mode
        (grad,) = torch.autograd.grad(out.loss, logp)
        if mode == "seq_mean_token_mean":  # each sequence weighs 1/2, split over its own tokens
            assert torch.allclose(grad, -torch.tensor([[1 / 2, 0, 0, 0], [1 / 6, 1 / 6, 1 / 6, 0]]))
        else:
            assert torch.allclose(grad, -grads[mode] * mask), mode


# ----------------------------------------------------------------------------- the micro-batch contract

B, T, D, V = 7, 6, 5, 9
SPLITS = [(0, 1), (1, 4), (4, 7)]  # unequal micro-batches


def _tiny_batch():
    gen = torch.Generator().manual_seed(0)
    weight = torch.nn.Parameter(torch.randn(D, V, generator=gen) * 0.5)
    feats = torch.randn(B, T, D, generator=gen)
    labels = torch.randint(0, V, (B, T), generator=gen)
    lengths = torch.tensor([6, 1, 4, 0, 3, 6, 2])  # row 3 fully masked (a truncated completion)
    mask = (torch.arange(T)[None] < lengths[:, None]).float()
    with torch.no_grad():
        old = logprobs_from_logits(feats @ weight, labels) + 0.3 * torch.randn(B, T, generator=gen)
    data = {
        "feats": feats,
        "labels": labels,
        "mask": mask,
        "old_logprobs": old,
        "advantages": torch.randn(B, 1, generator=gen).expand(B, T) + 0.1 * torch.randn(B, T, generator=gen),
        "ref_logprobs": old + 0.2 * torch.randn(B, T, generator=gen),
        "generator_logprobs": old + 0.5 * torch.randn(B, T, generator=gen),
    }
    return weight, data


def _policy_loss(weight, data, lo: int, hi: int, scale: LossScale, cfg: PolicyLossConfig):
    logits = data["feats"][lo:hi] @ weight
    inp = LossInput(
        logprobs=logprobs_from_logits(logits, data["labels"][lo:hi]),
        entropy=entropy_from_logits(logits),
        mask=data["mask"][lo:hi],
        **{k: data[k][lo:hi] for k in ("old_logprobs", "advantages", "ref_logprobs", "generator_logprobs")},
    )
    return compute_policy_loss(inp, scale, cfg)


@pytest.mark.parametrize("mode", sorted(AGGREGATIONS.names()))
@pytest.mark.parametrize("loss_name", ["ppo_clip", "gspo", "sft"])
def test_micro_batch_gradients_equal_full_batch(loss_name: str, mode: str):
    weight, data = _tiny_batch()
    scale = LossScale.of(data["mask"], max_len=T + 2)
    cfg = PolicyLossConfig(
        name=loss_name,
        aggregation=mode,
        clip_low=0.2,
        clip_high=0.28,
        kl_coef=0.05,
        kl_estimator="k3",
        entropy_coef=0.01,
        tis_cap=2.0 if loss_name != "sft" else None,
        dual_clip=3.0,
    )
    full = _policy_loss(weight, data, 0, B, scale, cfg)
    (g_full,) = torch.autograd.grad(full.loss, weight)
    assert g_full.abs().sum() > 0
    if loss_name == "ppo_clip":
        assert 0 < full.metrics["clip_frac"].item() < 1, "the example must exercise clipping"

    micro_scales = [LossScale.of(data["mask"][lo:hi], max_len=T + 2) for lo, hi in SPLITS]
    assert LossScale.total(micro_scales) == scale
    g_sum = torch.zeros_like(weight)
    parts = []
    for lo, hi in SPLITS:
        out = _policy_loss(weight, data, lo, hi, scale, cfg)
        (g,) = torch.autograd.grad(out.loss, weight)
        g_sum += g
        parts.append(out.metrics)
    assert torch.allclose(g_sum, g_full, atol=1e-6, rtol=1e-5)
    reduced = reduce_metrics(parts)
    assert reduced.keys() == full.metrics.keys()
    for key, value in full.metrics.items():
        assert reduced[key] == pytest.approx(value.item(), rel=1e-5, abs=1e-6), key


def test_local_normalisation_would_break_the_contract():
    """Guard the test itself: per-micro-batch normalisers give a different gradient."""
    weight, data = _tiny_batch()
    cfg = PolicyLossConfig(name="sft")
    (g_full,) = torch.autograd.grad(_policy_loss(weight, data, 0, B, LossScale.of(data["mask"]), cfg).loss, weight)
    g_local = sum(
        torch.autograd.grad(_policy_loss(weight, data, lo, hi, LossScale.of(data["mask"][lo:hi]), cfg).loss, weight)[0] / len(SPLITS)
        for lo, hi in SPLITS
    )
    assert not torch.allclose(g_local, g_full, atol=1e-4)


# ----------------------------------------------------------------------------- value loss


def test_value_loss_hand_computed():
    mask = torch.ones(1, 2)
    values = torch.tensor([[1.0, 0.6]], requires_grad=True)
    inp = ValueLossInput(values=values, old_values=torch.tensor([[0.5, 0.5]]), returns=torch.tensor([[2.0, 2.0]]), mask=mask)
    out = value_loss(inp, LossScale.of(mask), ValueLossConfig(clip=0.2))
    # token 0: clipped value 0.7 -> max(1, 1.69) = 1.69 (clipped, no grad); token 1: inside the clip, 1.96
    assert out.loss.item() == pytest.approx(0.5 * (1.69 + 1.96) / 2)
    (grad,) = torch.autograd.grad(out.loss, values)
    assert torch.allclose(grad, torch.tensor([[0.0, 0.5 * 2 * (0.6 - 2.0) / 2]]))
    assert out.metrics["value_clip_frac"].item() == pytest.approx(0.5)


@pytest.mark.parametrize("mode", sorted(AGGREGATIONS.names()))
def test_value_loss_micro_batches(mode: str):
    gen = torch.Generator().manual_seed(2)
    head = torch.nn.Parameter(torch.randn(D, generator=gen))
    feats = torch.randn(B, T, D, generator=gen)
    mask = (torch.arange(T)[None] < torch.tensor([6, 1, 4, 0, 3, 6, 2])[:, None]).float()
    old = (feats @ head).detach() + 0.3 * torch.randn(B, T, generator=gen)
    returns = torch.randn(B, T, generator=gen)
    scale = LossScale.of(mask)
    cfg = ValueLossConfig(clip=0.2, aggregation=mode)

    def loss(lo: int, hi: int):
        inp = ValueLossInput(values=feats[lo:hi] @ head, old_values=old[lo:hi], returns=returns[lo:hi], mask=mask[lo:hi])
        return value_loss(inp, scale, cfg)

    full = loss(0, B)
    assert 0 < full.metrics["value_clip_frac"].item() < 1
    (g_full,) = torch.autograd.grad(full.loss, head)
    g_sum = sum(torch.autograd.grad(loss(lo, hi).loss, head)[0] for lo, hi in SPLITS)
    assert torch.allclose(g_sum, g_full, atol=1e-6, rtol=1e-5)


# ----------------------------------------------------------------------------- config


def test_loss_config_is_strict():
    cfg = from_dict(PolicyLossConfig, {"name": "gspo", "aggregation": "seq_mean_token_mean", "tis_cap": 2})
    assert cfg.tis_cap == 2.0
    with pytest.raises(ConfigError, match="unknown policy loss 'ppo'"):
        from_dict(PolicyLossConfig, {"name": "ppo"})
    with pytest.raises(ConfigError, match="aggregation"):
        from_dict(PolicyLossConfig, {"aggregation": "mean"})
    with pytest.raises(ConfigError, match="dual_clip"):
        from_dict(PolicyLossConfig, {"dual_clip": 0.5})
    with pytest.raises(ConfigError, match="kl_estimator"):
        from_dict(PolicyLossConfig, {"kl_estimator": "k4"})
    assert from_dict(ValueLossConfig, {"clip": None}).clip is None
