"""Weight sync is verified: fingerprints compose over fused parameters, catch stale, corrupted,
permuted and skipped tensors, and after a real learner update the generator samples with exactly
the learner's weights."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import torch

from rlvr.generation.base import GeneratorConfig, SamplingConfig, build_generator
from rlvr.generation.weight_sync import Check, Source, WeightSyncError, compare_fingerprints, fingerprint, select_checks, sync_weights
from rlvr.models.load import load_model
from rlvr.training.learner import LearnerConfig, OptimConfig, build_learner

PROMPT = "12+34=46\n" * 20  # > 128 tokens: fills one vLLM-CPU KV block, so the prefix cache holds it


# ----------------------------------------------------------------------------- fingerprints


def test_fingerprint_composes_over_concatenation():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(3, 5, generator=g), torch.randn(2, 5, generator=g)
    whole = fingerprint(torch.cat([a, b]))
    parts = [x + y for x, y in zip(fingerprint(a), fingerprint(b, offset=a.numel()), strict=True)]
    assert whole == pytest.approx(parts, rel=1e-12, abs=1e-12)


def test_fingerprint_catches_permutation_and_small_updates():
    w = torch.randn(64, 32, generator=torch.Generator().manual_seed(1)) * 0.02
    ref = {"w": fingerprint(w)}
    swapped = w[[1, 0, *range(2, 64)]]  # two rows exchanged: same sum and sum of squares
    with pytest.raises(WeightSyncError, match="'w' differs"):
        compare_fingerprints({"w": fingerprint(swapped)}, ref, rtol=1e-5)
    stale = w + 1e-5 * torch.sign(torch.randn(w.shape, generator=torch.Generator().manual_seed(2)))  # one AdamW step at lr 1e-5
    with pytest.raises(WeightSyncError, match="'w' differs"):
        compare_fingerprints({"w": fingerprint(stale)}, ref, rtol=1e-5)
    with pytest.raises(WeightSyncError, match="'w' differs"):
        compare_fingerprints({"w": fingerprint(torch.full_like(w, float("nan")))}, ref, rtol=1e-5)
    with pytest.raises(WeightSyncError, match="'w' has 2016 elements"):
        compare_fingerprints({"w": fingerprint(w[:63])}, ref, rtol=1e-5)
    with pytest.raises(WeightSyncError, match="'v' received no tensor"):
        compare_fingerprints({"v": fingerprint(w), **ref}, ref, rtol=1e-5)
    assert compare_fingerprints({"w": fingerprint(w.clone())}, ref, rtol=1e-5) == (0.0, 0.0)


def test_subset_for_big_models_is_deterministic():
    checks = [Check(f"p{i:02d}", "tensor", (Source(f"p{i:02d}", 0),), 10) for i in range(40)]
    assert select_checks(checks, 1000) == checks
    subset = select_checks(list(reversed(checks)), 100)
    assert subset == select_checks(checks, 100) and 8 <= len(subset) <= 10 and subset[0].key == "p00"


# ----------------------------------------------------------------------------- real sync


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, tiny_tokenizer):
    """The conftest model's shape with room for prompts longer than vLLM-CPU's 128-token block."""
    from rlvr.models.load import TinyModelConfig, build_tiny_model

    d = tmp_path_factory.mktemp("tiny320")
    cfg = TinyModelConfig(hidden_size=64, num_layers=2, num_heads=2, num_kv_heads=2, intermediate_size=128, max_position_embeddings=320)
    build_tiny_model(cfg, tiny_tokenizer, seed=0).save_pretrained(d)
    tiny_tokenizer.save_pretrained(d)
    return d


@pytest.fixture(scope="module", params=["vllm", "hf"])
def gen(request, model_dir, tiny_tokenizer):
    g = build_generator(GeneratorConfig(name=request.param, max_model_len=320, cpu_kv_cache_gib=0.25), str(model_dir), tiny_tokenizer)
    yield g
    g.close()


def _updated_learner(model_dir, seed: int, backend: str = "torch", zero_stage: int = 0):
    """A learner one optimizer step (lr 1e-2, on random tokens drawn with ``seed``) away from the
    saved weights: distinct seeds give weights the generator does not hold yet."""
    learner = build_learner(load_model(str(model_dir)), LearnerConfig(backend=backend, zero_stage=zero_stage), OptimConfig(lr=1e-2), total_steps=1)
    ids = torch.randint(6, learner.model.config.vocab_size, (2, 12), generator=torch.Generator().manual_seed(seed))
    learner.backward(learner.forward(input_ids=ids, labels=ids).loss, last=True)
    learner.step()
    return learner


def _max_logprob_error(gen, model, prompt: list[int]) -> float:
    completions = gen.generate([prompt], SamplingConfig(n=2, max_tokens=12), seed=0)[0]
    worst = 0.0
    for c in completions:
        ids = torch.tensor([prompt + c.token_ids])
        with torch.no_grad():
            logp = torch.log_softmax(model(ids).logits[0, :-1].double(), dim=-1)[len(prompt) - 1 :]
        ref = logp.gather(1, torch.tensor(c.token_ids)[:, None])[:, 0]
        worst = max(worst, float((ref - torch.tensor(c.logprobs, dtype=torch.float64)).abs().max()))
    return worst


def test_sync_after_update_is_verified_and_used(gen, model_dir, tiny_tokenizer):
    """After one learner step and a sync, the generator's fingerprints equal the learner's and
    its logprobs are the updated model's. This caught vLLM-CPU's tied lm_head multiplying by
    the old embedding after an in-place reload (which every parameter check missed), and checks
    that the prefix cache of the old weights is dropped."""
    prompt = tiny_tokenizer(PROMPT)["input_ids"]
    assert len(prompt) > 128
    gen.generate([prompt], SamplingConfig(n=1, max_tokens=4), seed=0)  # fills vLLM's prefix cache with old weights
    before = gen.fingerprints()
    learner = _updated_learner(model_dir, seed=0)
    report = sync_weights(learner, gen)
    assert report.checked_params == len(gen.checks()) == len(before)
    assert report.max_rel_diff < 1e-5
    assert report.bytes == sum(p.numel() * 4 for _, p in learner.named_full_parameters())
    after = gen.fingerprints()
    assert all(after[k] != before[k] for k in after)  # every checked tensor moved and arrived
    assert compare_fingerprints(after, gen.expected_fingerprints(learner.named_full_parameters()), 1e-5)[1] < 1e-5
    assert _max_logprob_error(gen, learner.model.eval(), prompt) < 1e-3


@contextmanager
def _vllm_warnings() -> Iterator[list[str]]:
    """Every warning any vLLM logger emits meanwhile (vLLM's loggers do not propagate to caplog's)."""
    messages: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: messages.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger("vllm").addHandler(handler)
    try:
        yield messages
    finally:
        logging.getLogger("vllm").removeHandler(handler)


def test_sync_of_tied_model_logs_no_vllm_warning(gen, model_dir):
    """A verified sync is silent: vLLM's "RotaryEmbedding: Failed to load weights" and
    "ParallelLMHead: Failed to load weights" (tied head) printed at every step and read as a
    failed sync."""
    if gen.cfg.name != "vllm":
        pytest.skip("vLLM's warnings")
    assert load_model(str(model_dir)).config.tie_word_embeddings  # the case the tied-head filter is for
    learner = _updated_learner(model_dir, seed=6)
    with _vllm_warnings() as messages:
        report = sync_weights(learner, gen)
    assert report.max_rel_diff < 1e-5
    assert messages == []


def test_only_benign_vllm_warnings_are_dropped():
    """The filters match whole messages: the same words about another layer still show, and the
    tied-head message shows outside the reload of a tied model."""
    from rlvr.generation.vllm import _quiet_tied_head, _quiet_vllm

    _quiet_vllm()
    layerwise = logging.getLogger("vllm.model_executor.model_loader.reload.layerwise")
    with _vllm_warnings() as messages:
        layerwise.warning("%s: Failed to load weights", "RotaryEmbedding")
        layerwise.warning("%s: Failed to load weights", "QKVParallelLinear")
        layerwise.warning("%s: Failed to load weights", "ParallelLMHead")
        with _quiet_tied_head(True):
            layerwise.warning("%s: Failed to load weights", "ParallelLMHead")
        with _quiet_tied_head(False):
            layerwise.warning("%s: Failed to load weights", "ParallelLMHead")
    assert messages == ["QKVParallelLinear: Failed to load weights"] + ["ParallelLMHead: Failed to load weights"] * 2


def _corrupting(load, name: str, how: str):
    """Wrap ``load_weights`` so one tensor arrives changed in a single element, or not at all."""

    def faulty(named):
        for n, t in named:
            if n != name:
                yield n, t
            elif how == "corrupt":
                t = t.clone()
                t.view(-1)[7] += 1e-2
                yield n, t

    return lambda named: load(faulty(named))


@pytest.mark.parametrize(
    ("seed", "name", "how", "vllm_key"),
    [
        (1, "model.layers.1.self_attn.k_proj.weight", "corrupt", "model.layers.1.self_attn.qkv_proj.weight:matmul"),
        (2, "model.layers.0.mlp.up_proj.weight", "skip", "model.layers.0.mlp.gate_up_proj.weight:matmul"),
        (3, "model.norm.weight", "skip", "model.norm.weight"),
    ],
)
def test_faulty_load_is_caught_and_named(gen, model_dir, monkeypatch, seed, name, how, vllm_key):
    learner = _updated_learner(model_dir, seed)
    monkeypatch.setattr(gen, "load_weights", _corrupting(gen.load_weights, name, how))
    key = vllm_key if gen.cfg.name == "vllm" else name
    with pytest.raises(WeightSyncError, match=f"parameter '{key}' differs"):
        sync_weights(learner, gen)


def test_tensor_missing_from_learner_is_named(gen, model_dir):
    learner = _updated_learner(model_dir, seed=4)

    class Partial:  # a learner whose stream lacks one weight (e.g. a renamed module)
        def named_full_parameters(self):
            return ((n, t) for n, t in learner.named_full_parameters() if n != "model.layers.0.post_attention_layernorm.weight")

    with pytest.raises(WeightSyncError, match="'model.layers.0.post_attention_layernorm.weight' received no tensor"):
        sync_weights(Partial(), gen)


def test_zero3_learner_syncs(gen, model_dir, monkeypatch):
    """ZeRO-3 shards are gathered one tensor at a time and still verify."""
    if gen.cfg.name != "vllm":
        pytest.skip("the learner side is what differs; one generator suffices")
    # vLLM already initialised torch.distributed (world size 1), so the learner's
    # init_distributed() skips setting the launcher variables DeepSpeed asserts on.
    for var, value in {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1"}.items():
        monkeypatch.setenv(var, value)
    learner = _updated_learner(model_dir, seed=5, backend="deepspeed", zero_stage=3)
    report = sync_weights(learner, gen)
    assert report.checked_params == len(gen.checks()) and report.max_rel_diff < 1e-5
