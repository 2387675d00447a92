"""Loading and building models (``load``) and training tokenizers (``tokenizer``)."""
