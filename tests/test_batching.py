"""The learner's forward: train mode with real gradient checkpointing, logprobs from hidden states
in chunks, token-budget micro-batches and sequence packing, all equal to the plain full-batch path."""

from __future__ import annotations

import pytest
import torch

from rlvr.algorithms.aggregation import LossScale
from rlvr.algorithms.logprobs import entropy_from_logits, entropy_sample, logprobs_from_hidden, logprobs_from_logits
from rlvr.algorithms.losses import LossInput, PolicyLossConfig, compute_policy_loss
from rlvr.models.load import load_model
from rlvr.training.batching import layout, plan_micro_batches, plan_ranks
from rlvr.training.learner import LearnerConfig, OptimConfig, build_learner, token_logprobs


def _batch(vocab: int, lengths: list[int], seed: int = 0):
    """Right-padded rows of the given lengths, and a response mask over the second half of each."""
    g = torch.Generator().manual_seed(seed)
    t = max(lengths)
    ids = torch.zeros(len(lengths), t, dtype=torch.long)
    attn = torch.zeros(len(lengths), t, dtype=torch.long)
    resp = torch.zeros(len(lengths), t - 1)
    for r, n in enumerate(lengths):
        ids[r, :n] = torch.randint(3, vocab, (n,), generator=g)
        attn[r, :n] = 1
        resp[r, n // 2 : n - 1] = 1
    return ids, attn, resp


def _reference_logprobs(model, ids, attn):
    """Today's path: full logits of the padded batch, log-softmax gathered at the next token."""
    return logprobs_from_logits(model(input_ids=ids, attention_mask=attn).logits[:, :-1], ids[:, 1:])


def test_checkpointing_engages_and_the_model_trains_in_train_mode(tiny_model_dir):
    """from_pretrained returns eval mode and transformers checkpoints layers only in train mode:
    before the fix, gradient_checkpointing: true checkpointed 0 layer calls per step."""
    learner = build_learner(
        load_model(str(tiny_model_dir)), LearnerConfig(backend="torch", gradient_checkpointing=True), OptimConfig(lr=1e-3), total_steps=1
    )
    layers = learner.model.model.layers
    calls, modes = [], []
    for layer in layers:
        inner = layer._gradient_checkpointing_func

        def counted(*args, _inner=inner, **kwargs):
            calls.append(1)
            return _inner(*args, **kwargs)

        layer._gradient_checkpointing_func = counted
    ids, attn, resp = _batch(learner.model.config.vocab_size, [9, 6])
    logprobs, _ = learner.logprobs(layout(ids, attn, resp), temperature=1.0)
    logprobs.register_hook(lambda g: modes.append(learner.model.training))
    learner.backward((logprobs * resp).sum(), last=True)
    learner.step()
    assert len(calls) == len(layers)  # one checkpointed call per layer (recomputed in backward)
    assert modes == [True] and learner.model.config.use_cache is False


def test_logprobs_from_hidden_match_full_logits_values_and_gradients():
    g = torch.Generator().manual_seed(0)
    hidden = torch.randn(13, 8, generator=g, requires_grad=True)
    weight = torch.randn(21, 8, generator=g, requires_grad=True)
    bias = torch.randn(21, generator=g, requires_grad=True)
    labels = torch.randint(0, 21, (13,), generator=g)
    for temperature in (1.0, 0.6):
        ours = logprobs_from_hidden(hidden, weight, bias, labels, temperature, chunk_rows=4)
        ref = torch.log_softmax((hidden @ weight.T + bias) / temperature, -1).gather(-1, labels[:, None]).squeeze(-1)
        torch.testing.assert_close(ours, ref)
        w = torch.randn(13, generator=g)
        for a, b in zip(torch.autograd.grad((ours * w).sum(), (hidden, weight, bias)), torch.autograd.grad((ref * w).sum(), (hidden, weight, bias))):
            torch.testing.assert_close(a, b)


@pytest.mark.parametrize("packed,from_hidden", [(False, True), (True, True), (True, False)])
def test_learner_logprobs_equal_the_full_logits_path(tiny_model_dir, packed, from_hidden):
    """from_hidden=False is the ZeRO-3 path (the model computes the logits itself)."""
    model = load_model(str(tiny_model_dir))
    ids, attn, resp = _batch(model.config.vocab_size, [17, 5, 11, 2])
    with torch.no_grad():
        ref = _reference_logprobs(model, ids, attn)
        ours, entropy = token_logprobs(
            model, model, layout(ids, attn, resp, packed=packed), 1.0, chunk_rows=5, entropy_tokens=100, from_hidden=from_hidden
        )
        full_entropy = entropy_from_logits(model(input_ids=ids, attention_mask=attn).logits[:, :-1])
    m = resp.bool()
    torch.testing.assert_close(ours[m], ref[m], rtol=1e-5, atol=1e-5)
    assert (ours[~m] == 0).all()  # only response positions are computed
    torch.testing.assert_close(entropy[m], full_entropy[m], rtol=1e-5, atol=1e-5)  # 100 >= the tokens: exact


def test_entropy_sample_estimates_the_sum():
    picked, w = entropy_sample(10, 100)
    assert picked.tolist() == list(range(10)) and w == 1.0
    picked, w = entropy_sample(10, 4)
    assert picked.tolist() == [0, 3, 6, 9] and w == pytest.approx(2.5)
    values = torch.linspace(0, 1, 1000)
    picked, w = entropy_sample(1000, 64)
    assert float(values[picked].sum() * w) == pytest.approx(float(values.sum()), rel=0.02)


def test_plan_micro_batches():
    lengths = [5, 40, 12, 33, 7, 64, 3, 90]
    assert plan_micro_batches(lengths, 3) == [[0, 1, 2], [3, 4, 5], [6, 7]]  # no budget: today's fixed chunks
    for packing in (False, True):
        plan = plan_micro_batches(lengths, 3, max_tokens=80, packing=packing)
        assert sorted(i for mb in plan for i in mb) == list(range(len(lengths)))
        for mb in plan:
            cost = sum(lengths[i] for i in mb) if packing else len(mb) * max(lengths[i] for i in mb)
            assert cost <= 80 or len(mb) == 1  # 90 > 80 goes alone
    assert len(plan_micro_batches(lengths, 3, max_tokens=128, packing=True)) == 2  # 254 tokens in 2 bins of 128
    assert plan_micro_batches([4, 9], 1, items=["a", "b"]) == [["a"], ["b"]]
    # Ranks plan each other's rows: rank 1 (two short rows, one micro-batch) pads to rank 0's three.
    chunks, live = plan_ranks([[0, 2, 4], [1, 3]], [50, 5, 60, 5, 70], 1, 2, max_tokens=64)
    assert chunks == [[1, 3], [0], [0]] and live == [True, False, False]


def _policy_grads(model, ids, attn, resp, plan, packed):
    """Gradient of the step's ppo_clip loss accumulated over ``plan``'s micro-batches."""
    model.zero_grad(set_to_none=True)
    scale = LossScale.of(resp)
    adv = torch.linspace(-1, 1, resp.numel()).reshape(resp.shape)
    for mb in plan:
        width = int(attn[mb].sum(1).max())
        sub_ids, sub_attn, sub_resp = ids[mb][:, :width], attn[mb][:, :width], resp[mb][:, : width - 1]
        lp, _ = token_logprobs(model, model, layout(sub_ids, sub_attn, sub_resp, packed=packed), 1.0, chunk_rows=7)
        out = compute_policy_loss(
            LossInput(logprobs=lp, mask=sub_resp, old_logprobs=lp.detach(), advantages=adv[mb][:, : width - 1]),
            scale,
            PolicyLossConfig(name="ppo_clip"),
        )
        out.loss.backward()
    return {k: p.grad.clone() for k, p in model.named_parameters()}


@pytest.mark.parametrize("packing", [False, True])
def test_token_budget_micro_batches_equal_the_full_batch(tiny_model_dir, packing):
    model = load_model(str(tiny_model_dir))
    lengths = [17, 5, 30, 11, 2, 24]
    ids, attn, resp = _batch(model.config.vocab_size, lengths, seed=1)
    full = _policy_grads(model, ids, attn, resp, [list(range(len(lengths)))], packed=False)
    plan = plan_micro_batches(lengths, 16, max_tokens=40, packing=packing)
    assert len(plan) > 1
    got = _policy_grads(model, ids, attn, resp, plan, packed=packing)
    for k in full:
        torch.testing.assert_close(got[k], full[k], rtol=1e-4, atol=1e-6, msg=k)


def test_packing_without_a_token_budget_is_rejected():
    with pytest.raises(ValueError, match="learner.packing needs learner.max_tokens_per_micro_batch > 0"):
        LearnerConfig(packing=True).validate()
    LearnerConfig(packing=True, max_tokens_per_micro_batch=512).validate()
