"""Preference losses (rlvr.algorithms.preference) against hand-computed values and their limits."""

from __future__ import annotations

import math

import pytest
import torch

from rlvr.algorithms.aggregation import reduce_metrics
from rlvr.algorithms.preference import (
    PREFERENCE_LOSSES,
    PreferenceInput,
    PreferenceLossConfig,
    PreferenceScale,
    Sequences,
    compute_preference_loss,
    kto_reference_point,
)


def _seqs(logps, ref=None, tokens=None, grad=False):
    lp = torch.tensor(logps, dtype=torch.float64, requires_grad=grad)
    return Sequences(
        lp,
        torch.tensor(tokens if tokens is not None else [1.0] * len(logps), dtype=torch.float64),
        None if ref is None else torch.tensor(ref, dtype=torch.float64),
    )


def _pairs(name, chosen, rejected, **cfg):
    inp = PreferenceInput(chosen=chosen, rejected=rejected)
    return compute_preference_loss(inp, PreferenceScale(examples=len(chosen.logps)), PreferenceLossConfig(name=name, **cfg))


def test_traits_say_what_each_loss_needs():
    assert {n: (PREFERENCE_LOSSES.traits(n).needs_reference, PREFERENCE_LOSSES.traits(n).paired) for n in ("dpo", "ipo", "simpo", "kto")} == {
        "dpo": (True, True),
        "ipo": (True, True),
        "simpo": (False, True),
        "kto": (True, False),
    }


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_dpo_is_log2_when_the_policy_is_the_reference(smoothing):
    out = _pairs("dpo", _seqs([-3.0, -7.0], [-3.0, -7.0]), _seqs([-5.0, -1.0], [-5.0, -1.0]), label_smoothing=smoothing)
    assert float(out.loss) == pytest.approx(math.log(2))
    assert float(out.metrics["reward_margin"]) == 0 and float(out.metrics["preference_accuracy"]) == 0


def test_dpo_and_cdpo_hand_computed():
    # chosen log-ratio +1, rejected -1: h = 2, beta 0.5 -> logit 1
    chosen, rejected = _seqs([-3.0], [-4.0]), _seqs([-5.0], [-4.0])
    out = _pairs("dpo", chosen, rejected, beta=0.5)
    assert float(out.loss) == pytest.approx(math.log1p(math.exp(-1)))
    assert float(out.metrics["reward_chosen"]) == pytest.approx(0.5) and float(out.metrics["reward_rejected"]) == pytest.approx(-0.5)
    assert float(out.metrics["reward_margin"]) == pytest.approx(1.0) and float(out.metrics["preference_accuracy"]) == 1.0
    smoothed = _pairs("dpo", chosen, rejected, beta=0.5, label_smoothing=0.2)
    assert float(smoothed.loss) == pytest.approx(0.8 * math.log1p(math.exp(-1)) + 0.2 * math.log1p(math.exp(1)))


def test_ipo_regresses_the_summed_margin_to_one_over_two_tau():
    chosen, rejected = _seqs([-3.0], [-4.0]), _seqs([-5.0], [-4.0])  # h = 2 (summed log-ratios)
    assert float(_pairs("ipo", chosen, rejected, beta=0.25).loss) == pytest.approx(0.0)  # target 1/(2 * 0.25) = 2
    assert float(_pairs("ipo", chosen, rejected, beta=0.5).loss) == pytest.approx(1.0)  # (2 - 1)^2
    # unlike DPO, a margin beyond the target is pushed back
    assert float(_pairs("ipo", _seqs([0.0], [-4.0]), rejected, beta=0.25).loss) == pytest.approx(9.0)


def test_simpo_needs_no_reference_and_normalises_by_length():
    chosen = _seqs([-4.0], tokens=[2.0])  # -2 per token
    rejected = _seqs([-9.0], tokens=[3.0])  # -3 per token
    out = _pairs("simpo", chosen, rejected, beta=2.0, simpo_gamma=0.5)
    assert float(out.loss) == pytest.approx(math.log1p(math.exp(-1.5)))  # 2 * (-2 + 3) - 0.5
    assert float(out.metrics["reward_chosen"]) == pytest.approx(-4.0)
    # a reference-needing loss refuses the same input
    with pytest.raises(ValueError, match="reference"):
        _pairs("dpo", chosen, rejected)


def test_kto_reference_point_is_detached_and_never_negative():
    drifted = Sequences(torch.tensor([-1.0, -2.0], requires_grad=True), torch.ones(2), torch.tensor([-2.0, -2.5]))
    z0 = kto_reference_point(drifted)
    assert not z0.requires_grad and float(z0) == pytest.approx(0.75)
    closer = Sequences(torch.tensor([-3.0, -2.0], requires_grad=True), torch.ones(2), torch.tensor([-2.0, -2.5]))
    assert float(kto_reference_point(closer)) == 0.0  # mean log-ratio -0.25: clamped


def test_kto_hand_computed_and_weighted():
    beta, z0 = 0.5, torch.tensor(0.4, dtype=torch.float64)
    comp = _seqs([-1.0, -3.0, -2.0], [-2.0, -2.0, -2.0], grad=True)  # log-ratios +1, -1, 0
    labels = torch.tensor([True, False, True])
    cfg = PreferenceLossConfig(name="kto", beta=beta, desirable_weight=1.0, undesirable_weight=2.0)
    out = compute_preference_loss(PreferenceInput(completions=comp, labels=labels, z0=z0), PreferenceScale(3, 2, 1), cfg)
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    want = (1 - sig(beta * (1 - 0.4))) + 2 * (1 - sig(beta * (0.4 + 1))) + (1 - sig(beta * (0 - 0.4)))
    assert float(out.loss.detach()) == pytest.approx(want / 3)
    assert float(out.metrics["reward_desirable"]) == pytest.approx(beta * (1 + 0) / 2)
    assert float(out.metrics["reward_undesirable"]) == pytest.approx(-beta)
    assert float(out.metrics["preference_accuracy"]) == pytest.approx(2 / 3)  # the third: reward 0 is below z0, label good
    out.loss.backward()
    g = comp.logps.grad
    assert g[0] < 0 and g[2] < 0 and g[1] > 0  # minimising raises the good completions' likelihood, lowers the bad one's


def test_micro_batch_shares_add_up_to_the_full_batch():
    torch.manual_seed(0)
    c_lp, r_lp, c_ref, r_ref = (torch.randn(5, dtype=torch.float64) for _ in range(4))
    for name in ("dpo", "ipo", "simpo"):
        cfg, scale = PreferenceLossConfig(name=name), PreferenceScale(examples=5)
        full = compute_preference_loss(
            PreferenceInput(chosen=Sequences(c_lp, torch.ones(5), c_ref), rejected=Sequences(r_lp, torch.ones(5), r_ref)), scale, cfg
        )
        parts = [
            compute_preference_loss(
                PreferenceInput(
                    chosen=Sequences(c_lp[s], torch.ones(len(c_lp[s])), c_ref[s]), rejected=Sequences(r_lp[s], torch.ones(len(r_lp[s])), r_ref[s])
                ),
                scale,
                cfg,
            )
            for s in (slice(0, 2), slice(2, 5))
        ]
        assert float(sum(p.loss for p in parts)) == pytest.approx(float(full.loss))
        summed = reduce_metrics(p.metrics for p in parts)
        assert summed["reward_margin"] == pytest.approx(float(full.metrics["reward_margin"]))


def test_a_paired_loss_refuses_unpaired_input():
    with pytest.raises(ValueError, match="chosen"):
        compute_preference_loss(
            PreferenceInput(completions=_seqs([-1.0], [-1.0]), labels=torch.tensor([True])), PreferenceScale(1), PreferenceLossConfig()
        )
