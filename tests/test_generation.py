"""Generators (vLLM and the transformers fallback) honour one contract: n completions per prompt,
raw per-token logprobs equal to the learner's teacher-forced logprobs, EOS/stop handling,
seeded reproducibility, and chunking of large n."""

from __future__ import annotations

import pytest
import torch

from rlvr.config import from_dict
from rlvr.errors import ConfigError, RlvrError
from rlvr.generation.base import GeneratorConfig, SamplingConfig, build_generator, chunks

PROMPTS = ["12+34=", "Ann has 12 marbles. She gets"]


@pytest.fixture(scope="module")
def model_dir(tiny_model_dir, tiny_tokenizer, tmp_path_factory):
    """The tiny model, edited so that EOS follows any token with probability ~0.1 (a random
    model emits it once in ~300 tokens): every embedding gets a shared component v, which the
    residual stream carries to the output, and the tied EOS row gets 5v, raising its logit."""
    from rlvr.models.load import load_model

    model = load_model(str(tiny_model_dir))
    emb = model.get_input_embeddings().weight
    with torch.no_grad():
        v = torch.nn.functional.normalize(torch.randn(emb.shape[1], generator=torch.Generator().manual_seed(0)), dim=0)
        v *= emb.norm(dim=1).mean()
        emb += v
        emb[tiny_tokenizer.eos_token_id] += 5 * v
    d = tmp_path_factory.mktemp("eos_prone")
    model.save_pretrained(d)
    tiny_tokenizer.save_pretrained(d)
    return d


@pytest.fixture(scope="module", params=["vllm", "hf"])
def gen(request, model_dir, tiny_tokenizer):
    g = build_generator(GeneratorConfig(name=request.param, max_model_len=128, cpu_kv_cache_gib=0.25), str(model_dir), tiny_tokenizer)
    yield g
    g.close()


@pytest.fixture(scope="module")
def hf_model(model_dir):
    from rlvr.models.load import load_model

    return load_model(str(model_dir)).eval()


@pytest.fixture(scope="module")
def prompt_ids(tiny_tokenizer):
    return [tiny_tokenizer(p)["input_ids"] for p in PROMPTS]


def teacher_forced(model, prompt: list[int], completion: list[int]) -> torch.Tensor:
    """The learner's view: log-softmax of one unpadded forward pass, at the completion tokens."""
    ids = torch.tensor([prompt + completion])
    with torch.no_grad():
        logp = torch.log_softmax(model(ids).logits[0, :-1].double(), dim=-1)
    return logp[len(prompt) - 1 :].gather(1, torch.tensor(completion)[:, None])[:, 0]


def test_n_completions_per_prompt(gen, prompt_ids, tiny_tokenizer):
    out = gen.generate(prompt_ids, SamplingConfig(n=3, max_tokens=16), seed=0)
    assert [len(cs) for cs in out] == [3, 3]
    eos = tiny_tokenizer.eos_token_id
    for p, cs in enumerate(out):
        for c in cs:
            assert c.prompt_index == p
            assert 1 <= len(c.token_ids) == len(c.logprobs) <= 16
            assert all(lp <= 0 for lp in c.logprobs)
            assert eos not in c.token_ids[:-1]
            assert c.finish_reason == ("stop" if c.token_ids[-1] == eos else "length")
            if c.finish_reason == "length":
                assert len(c.token_ids) == 16
            assert c.text == tiny_tokenizer.decode(c.token_ids, skip_special_tokens=True)
    assert len({tuple(c.token_ids) for c in out[0]}) == 3  # distinct samples, not one repeated


def test_stops_at_eos(gen, prompt_ids, tiny_tokenizer):
    out = gen.generate(prompt_ids[:1], SamplingConfig(n=8, max_tokens=24), seed=1)[0]
    stopped = [c for c in out if c.finish_reason == "stop"]
    assert len(stopped) >= 2 and all(c.token_ids[-1] == tiny_tokenizer.eos_token_id for c in stopped)
    assert all(len(c.token_ids) == 24 for c in out if c.finish_reason == "length")


def test_logprobs_match_learner(gen, prompt_ids, hf_model):
    """Generator logprobs are the learner's logprobs of the same tokens (no train/infer mismatch),
    including the shorter, left-padded prompt in the HF batch."""
    out = gen.generate(prompt_ids, SamplingConfig(n=2, max_tokens=16, temperature=1.0), seed=2)
    worst = 0.0
    for p, cs in enumerate(out):
        for c in cs:
            ref = teacher_forced(hf_model, prompt_ids[p], c.token_ids)
            worst = max(worst, float((ref - torch.tensor(c.logprobs, dtype=torch.float64)).abs().max()))
    assert worst < 1e-3


def test_raw_logprobs_under_temperature(gen, prompt_ids, hf_model):
    """At temperature != 1 and with top-k the logprobs stay the model's raw ones (what the learner
    computes), not those of the tempered/truncated sampling distribution."""
    out = gen.generate(prompt_ids[:1], SamplingConfig(n=2, max_tokens=12, temperature=0.7, top_k=20), seed=3)[0]
    for c in out:
        ref = teacher_forced(hf_model, prompt_ids[0], c.token_ids)
        assert float((ref - torch.tensor(c.logprobs, dtype=torch.float64)).abs().max()) < 1e-3


def test_greedy_is_argmax(gen, prompt_ids, hf_model):
    c = gen.generate(prompt_ids[:1], SamplingConfig(n=1, max_tokens=8, temperature=0.0))[0][0]
    ids = torch.tensor([prompt_ids[0]])
    with torch.no_grad():
        greedy = hf_model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=8, do_sample=False)[0, ids.shape[1] :]
    assert c.token_ids == greedy.tolist()[: len(c.token_ids)]


def test_seeded_reproducible(gen, prompt_ids):
    a = gen.generate(prompt_ids, SamplingConfig(n=2, max_tokens=10), seed=7)
    b = gen.generate(prompt_ids, SamplingConfig(n=2, max_tokens=10), seed=7)
    c = gen.generate(prompt_ids, SamplingConfig(n=2, max_tokens=10), seed=8)
    ids = lambda out: [[x.token_ids for x in cs] for cs in out]  # noqa: E731
    assert ids(a) == ids(b)
    assert ids(b) != ids(c)


def test_stop_string(gen, prompt_ids):
    sampling = SamplingConfig(n=4, max_tokens=32)
    base = gen.generate(prompt_ids[:1], sampling, seed=4)[0]
    i = next(i for i, c in enumerate(base) if len(c.text.strip()) >= 4)
    stop = next(ch for ch in base[i].text[2:] if ch.strip())  # a character this completion will produce
    cut = gen.generate(prompt_ids[:1], SamplingConfig(n=4, max_tokens=32, stop=[stop]), seed=4)[0][i]
    assert cut.finish_reason == "stop"
    assert cut.text == base[i].text[: base[i].text.index(stop) + len(stop)]  # kept, as the verifier needs a closing tag
    assert cut.token_ids == base[i].token_ids[: len(cut.token_ids)] and len(cut.logprobs) == len(cut.token_ids)


def test_stop_string_ends_the_tiny_arith_model_alike_in_both_engines():
    """The bundled model writes "59+7\n=66\nAnswer: 66": a stop string it emits ends the completion
    at the same token in vLLM and HF, kept in the text, and the rollout does not count it as
    truncated (it has no EOS, but max_tokens did not cut it)."""
    from rlvr.data import Problem
    from rlvr.models.load import load_tokenizer, resolve_model_path
    from rlvr.rewards import RewardContext, build_reward
    from rlvr.rewards.config import RewardConfig
    from rlvr.rollout.experience import build_experience
    from rlvr.rollout.rewards import assign_rewards
    from rlvr.rollout.sample import ScoredCompletion
    from rlvr.verifiers import Verdict

    path = resolve_model_path("tiny-arith")
    tok = load_tokenizer(path)
    prompt = [tok("59+7=?\n").input_ids]
    outs = {}
    for name in ("vllm", "hf"):
        g = build_generator(GeneratorConfig(name=name, max_model_len=128, cpu_kv_cache_gib=0.25), path, tok)
        try:
            full = g.generate(prompt, SamplingConfig(n=1, temperature=0.0, max_tokens=40, stop=[]))[0][0]
            outs[name] = g.generate(prompt, SamplingConfig(n=1, temperature=0.0, max_tokens=40, stop=["\n="]))[0][0]
        finally:
            g.close()
        assert full.text.startswith("59+7\n=66\n") and full.token_ids[-1] == tok.eos_token_id
        c = outs[name]
        assert (c.text, c.finish_reason) == ("59+7\n=", "stop")
        assert c.token_ids == full.token_ids[: len(c.token_ids)] and tok.eos_token_id not in c.token_ids
    assert outs["vllm"].token_ids == outs["hf"].token_ids
    c = outs["hf"]
    scored = [[ScoredCompletion(Problem(id="p", prompt="59+7=?", answer="66"), c, Verdict(False, None, "no_answer"))]]
    assign_rewards(scored, ["59+7=?\n"], build_reward(RewardConfig(), RewardContext(tok, None, 40)), 40, RewardConfig())
    exp = build_experience(scored, prompt, [0], tok.eos_token_id, tok.pad_token_id or 0, mask_truncated_completions=True)
    assert not exp.truncated[0] and exp.response_mask.sum() == len(c.token_ids)


def test_rollout_truncated_only_when_max_tokens_cut():
    """A completion that ended on a stop string has no EOS; it used to be masked as truncated."""
    from rlvr.data import Problem
    from rlvr.generation.base import Completion
    from rlvr.rewards import RewardContext, build_reward
    from rlvr.rewards.config import RewardConfig
    from rlvr.rollout.experience import build_experience
    from rlvr.rollout.rewards import assign_rewards
    from rlvr.rollout.sample import ScoredCompletion
    from rlvr.verifiers import Verdict

    p, v = Problem(id="p", prompt="q", answer="1"), Verdict(True, "1", "ok")
    group = [ScoredCompletion(p, Completion(0, [5, 6, 7], [0.0] * 3, "<answer>1</answer>", reason), v) for reason in ("stop", "length")]
    assign_rewards([group], ["q"], build_reward(RewardConfig(), RewardContext(None, None, 3)), 3, RewardConfig())
    exp = build_experience([group], [[3, 4]], [0], eos_token_id=2, pad_token_id=0, mask_truncated_completions=True)
    assert exp.truncated.tolist() == [False, True]
    assert exp.response_mask.sum(dim=1).tolist() == [3, 0]


def test_template_stop_strings_apply_unless_set():
    from rlvr.prompts import get_template
    from rlvr.rollout.sample import template_sampling

    r1 = get_template("r1-zero")
    assert r1.stop == ["</answer>"]
    assert template_sampling(SamplingConfig(), r1).stop == ["</answer>"]
    assert template_sampling(SamplingConfig(stop=[]), r1).stop == []  # an explicit empty list: no stop strings
    assert template_sampling(SamplingConfig(stop=["\n\n"]), r1).stop == ["\n\n"]
    assert template_sampling(SamplingConfig(), get_template("arith")).stop == []


def test_chunked_n(gen, prompt_ids, monkeypatch):
    """n larger than chunk_size still gives n distinct completions per prompt, reproducibly."""
    monkeypatch.setattr(gen.cfg, "chunk_size", 4)
    chunked = gen.generate(prompt_ids, SamplingConfig(n=10, max_tokens=6), seed=5)
    assert [len(cs) for cs in chunked] == [10, 10]
    assert all(c.prompt_index == p for p, cs in enumerate(chunked) for c in cs)
    assert len({tuple(c.token_ids) for c in chunked[0]}) >= 8  # chunks draw fresh samples
    again = gen.generate(prompt_ids, SamplingConfig(n=10, max_tokens=6), seed=5)
    assert [[c.token_ids for c in cs] for cs in again] == [[c.token_ids for c in cs] for cs in chunked]


def test_unseeded_calls_differ_and_keep_caller_rng(gen, prompt_ids):
    state = torch.random.get_rng_state()
    gen.generate(prompt_ids[:1], SamplingConfig(n=2, max_tokens=4), seed=1)
    assert torch.equal(torch.random.get_rng_state(), state)  # seeded calls leave the trainer's RNG alone
    a = gen.generate(prompt_ids[:1], SamplingConfig(n=2, max_tokens=8))
    b = gen.generate(prompt_ids[:1], SamplingConfig(n=2, max_tokens=8))
    assert [c.token_ids for c in a[0]] != [c.token_ids for c in b[0]]


def test_vllm_prompt_ids_round_trip(gen, tiny_tokenizer):
    """vLLM tokenizes text exactly as our tokenizer does (eval prompts given as text agree with
    training prompts given as ids)."""
    if gen.cfg.name != "vllm":
        pytest.skip("vLLM only")
    from vllm import SamplingParams

    outs = gen.llm.generate(PROMPTS, SamplingParams(max_tokens=1), use_tqdm=False)
    assert [list(o.prompt_token_ids) for o in outs] == [tiny_tokenizer(p)["input_ids"] for p in PROMPTS]


def test_chunks_split():
    calls = list(chunks(2, 5, 4))
    assert calls == [[(0, 0, 4)], [(0, 4, 1), (1, 0, 3)], [(1, 3, 2)]]
    assert sum(c for call in chunks(3, 1000, 256) for _, _, c in call) == 3000
    assert all(sum(c for _, _, c in call) <= 256 for call in chunks(3, 1000, 256))


def test_config_errors(tiny_model_dir, tiny_tokenizer):
    with pytest.raises(ConfigError, match="chunk_size"):
        from_dict(GeneratorConfig, {"chunk_size": 0})
    with pytest.raises(ConfigError, match="top_k"):
        from_dict(SamplingConfig, {"top_k": 0})
    with pytest.raises(RlvrError, match="unknown generator 'vlm'.*hf, remote, vllm"):
        build_generator(GeneratorConfig(name="vlm"), str(tiny_model_dir), tiny_tokenizer)


def test_registry_imports_implementations_lazily():
    """base knows the built-ins by module name only: importing it (and validating a config) loads
    no engine, and a name's module loads when the name is used."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from rlvr.config import from_dict\n"
        "from rlvr.generation.base import GENERATORS, GeneratorConfig\n"
        "from_dict(GeneratorConfig, {'name': 'remote', 'address': 'h:1'})\n"
        "assert GENERATORS.names() == ['hf', 'remote', 'vllm'], GENERATORS.names()\n"
        "loaded = [m for m in ('rlvr.generation.vllm', 'rlvr.generation.hf', 'rlvr.generation.remote.client', 'vllm') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
        "assert GENERATORS.get('hf').__module__ == 'rlvr.generation.hf' and 'vllm' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
