"""Generation engines: the :class:`~rlvr.generation.base.Generator` protocol and its registry
(``base``), the vLLM and HF engines (``vllm``, ``hf``), a remote engine behind a socket
(``remote``), and the weight sync that loads a learner's weights into any of them and verifies it
(``weight_sync``)."""
