"""``generator: hf``: transformers ``generate`` on the generator's own copy of the model.

The fallback when vLLM is unavailable or does not support a model. Same contract as the vLLM
generator: left-padded prompt batches (``generate`` derives ``position_ids`` from the attention
mask), ``n`` split into chunks of at most ``chunk_size`` completions, and per-token logprobs that
are the model's *raw* log-softmax of the sampled tokens (``output_logits`` are the logits before
temperature/top-p/top-k), the same quantity vLLM returns with ``raw_logprobs``.

Seeding is as in the vLLM generator: each ``generate`` batch (one chunk) runs under a forked
RNG seeded by its first (prompt, sample), so results are reproducible for a given
``chunk_size`` and never disturb the trainer's random state.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rlvr.errors import RlvrError
from rlvr.generation.base import GENERATORS, Completion, GeneratorConfig, SamplingConfig, chunks, sample_seed
from rlvr.generation.weight_sync import Check, Source, expected_fingerprints, fingerprint, select_checks
from rlvr.models.load import load_model


@GENERATORS.register("hf")
class HfGenerator:
    """transformers ``generate`` with the same outputs as the vLLM generator."""

    def __init__(self, cfg: GeneratorConfig, model_path: str, tokenizer):
        import torch

        self.cfg, self.tokenizer, self.dtype = cfg, tokenizer, cfg.dtype
        self.device = torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
        self.model = load_model(model_path, cfg.dtype).to(self.device).eval()
        self.params = dict(self.model.named_parameters())  # deduplicated: a tied lm_head appears once
        all_checks = [Check(n, "tensor", (Source(n, 0),), p.numel()) for n, p in self.params.items()]
        self._checks = select_checks(all_checks, cfg.fingerprint_max_elements)
        self.eos_id = tokenizer.eos_token_id
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.eos_id

    def generate(self, prompts: list[list[int]], sampling: SamplingConfig, seed: int | None = None) -> list[list[Completion]]:
        import torch

        results: list[list[Completion]] = [[] for _ in prompts]
        for call in chunks(len(prompts), sampling.n, self.cfg.chunk_size):
            rows = [p for p, _, count in call for _ in range(count)]
            if seed is None:
                generated = self._generate_rows([prompts[p] for p in rows], sampling)
            else:
                with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
                    torch.manual_seed(sample_seed(seed, call[0][0], call[0][1]))
                    generated = self._generate_rows([prompts[p] for p in rows], sampling)
            for p, ids, logprobs in zip(rows, *generated, strict=True):
                results[p].append(self._completion(p, ids, logprobs, sampling))
        return results

    def _generate_rows(self, prompts: list[list[int]], sampling: SamplingConfig) -> tuple[list[list[int]], list[list[float]]]:
        import torch

        width = max(len(p) for p in prompts)
        input_ids = torch.tensor([[self.pad_id] * (width - len(p)) + list(p) for p in prompts], device=self.device)
        attention_mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=self.device)
        sample = sampling.temperature > 0
        kwargs: dict[str, Any] = (
            {"do_sample": True, "temperature": sampling.temperature, "top_p": sampling.top_p, "top_k": max(sampling.top_k, 0)}
            if sample
            else {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
        )
        if sampling.stop:
            kwargs.update(stop_strings=list(sampling.stop), tokenizer=self.tokenizer)
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=input_ids,
                attention_mask=attention_mask,
                max_new_tokens=sampling.max_tokens,
                pad_token_id=self.pad_id,
                eos_token_id=self.eos_id,
                output_logits=True,
                return_dict_in_generate=True,
                **kwargs,
            )
        new = out.sequences[:, width:]
        logits = torch.stack(out.logits, dim=1)[:, : new.shape[1]]  # [rows, steps, vocab], raw
        logprobs = torch.log_softmax(logits.float(), dim=-1).gather(-1, new[..., None])[..., 0]
        return new.tolist(), logprobs.tolist()

    def _completion(self, prompt_index: int, ids: list[int], logprobs: list[float], sampling: SamplingConfig) -> Completion:
        """Cut a padded row where generation stopped (EOS inclusive, or the token completing a
        stop string) and end the text with the stop string, as vLLM does with
        ``include_stop_str_in_output``."""
        stop = sampling.stop or ()
        end, reason = len(ids), "length"
        if self.eos_id in ids:
            end, reason = ids.index(self.eos_id) + 1, "stop"
        text = self.tokenizer.decode(ids[:end], skip_special_tokens=True)
        ends = [text.find(s) + len(s) for s in stop if s in text]
        if ends:
            # the first prefix whose text contains a stop string ends the completion
            lo, hi = 1, end
            while lo < hi:
                mid = (lo + hi) // 2
                prefix = self.tokenizer.decode(ids[:mid], skip_special_tokens=True)
                lo, hi = (lo, mid) if any(s in prefix for s in stop) else (mid + 1, hi)
            end, reason, text = lo, "stop", text[: min(ends)]
        return Completion(prompt_index, ids[:end], logprobs[:end], text, reason)

    def load_weights(self, named_tensors: Iterable[tuple[str, Any]]) -> None:
        import torch

        with torch.no_grad():
            for name, tensor in named_tensors:
                param = self.params.get(name)
                if param is None:
                    raise RlvrError(f"hf generator: the learner sent weight '{name}', which the generator's model does not have")
                param.copy_(tensor)

    def checks(self) -> list[Check]:
        return list(self._checks)

    def fingerprints(self) -> dict[str, list[float]]:
        return {c.key: fingerprint(self.params[c.key]) for c in self._checks}

    def expected_fingerprints(self, named_tensors: Iterable[tuple[str, Any]]) -> dict[str, list[float]]:
        import torch

        return expected_fingerprints(self._checks, named_tensors, getattr(torch, self.dtype))

    def close(self) -> None:
        del self.model, self.params
