"""Tokenizers built locally from a corpus, saved so transformers and vLLM load them unchanged.

The tiny models rlvr builds use a byte-level BPE whose pre-tokenizer splits every digit into its
own token: arithmetic is learned digit by digit, and a number never hides inside a merged word
piece. Any UTF-8 text still encodes (the 256 byte symbols are always in the vocabulary), so the same
tokenizer works on GSM8K or MATH prompts.

Why ``tokenizer_class = TokenizersBackend``: transformers 5 rebuilds some classes (e.g.
``Qwen2Tokenizer``) from their own pre-tokenizer rules when the config names them, which silently
changes token ids. Saving as the generic tokenizers backend makes ``AutoTokenizer`` (and therefore
vLLM) load ``tokenizer.json`` exactly as written; a test checks ids survive both round trips.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rlvr.config import field

PAD, BOS, EOS = "<|pad|>", "<|bos|>", "<|eos|>"
SYSTEM, USER, ASSISTANT = "<|system|>", "<|user|>", "<|assistant|>"
SPECIAL_TOKENS = [PAD, BOS, EOS, SYSTEM, USER, ASSISTANT]

# One turn per line; the assistant turn ends with EOS so generation stops there.
CHAT_TEMPLATE = (
    "{% for m in messages %}"
    "{% if m['role'] == 'system' %}" + SYSTEM + "{{ m['content'] }}\n"
    "{% elif m['role'] == 'user' %}" + USER + "{{ m['content'] }}\n"
    "{% else %}" + ASSISTANT + "{{ m['content'] }}" + EOS + "\n{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}" + ASSISTANT + "{% endif %}"
)


@dataclass
class TokenizerConfig:
    """How to train a tokenizer for a model built from scratch."""

    vocab_size: int = field(384, help="target vocabulary size: 256 byte symbols + merges + special tokens")
    min_frequency: int = field(2, help="a pair must occur this often in the corpus to become a merge")
    max_corpus_lines: int = field(20000, help="lines of the corpus sampled to learn merges (merges saturate fast)")

    def validate(self) -> None:
        if self.vocab_size < 256 + len(SPECIAL_TOKENS):
            raise ValueError(f"tokenizer.vocab_size must be at least {256 + len(SPECIAL_TOKENS)} (bytes + specials)")


def train_tokenizer(corpus: Iterable[str], cfg: TokenizerConfig):
    """Train a digit-splitting byte-level BPE on ``corpus``; return a transformers tokenizer."""
    from itertools import islice

    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=cfg.vocab_size,
        min_frequency=cfg.min_frequency,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(islice(corpus, cfg.max_corpus_lines), trainer)
    bos_id = tok.token_to_id(BOS)
    # BOS is added by the tokenizer itself, so every engine that calls encode() agrees on it.
    tok.post_processor = processors.TemplateProcessing(single=f"{BOS} $A", pair=f"{BOS} $A $B", special_tokens=[(BOS, bos_id)])
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=BOS, eos_token=EOS, pad_token=PAD)
    hf.chat_template = CHAT_TEMPLATE
    hf.padding_side = "left"
    return hf
