"""A generator in its own process: ``rlvr serve-generator`` (the server) and ``generator.name:
remote`` (the trainer's client), for engines on other devices or nodes than the learner.

Modules: :mod:`.protocol` (message framing, auth, limits: what both sides speak),
:mod:`.transport` (the weight channels), :mod:`.server` and :mod:`.client`.

The split follows TRL's ``vllm serve`` + ``VLLMClient`` and vLLM's RLHF examples: a control
channel for requests, and a separate two-process collective group for the weights.

* **Control**: one TCP connection per trainer rank carrying length-prefixed JSON messages. Never
  pickle: a peer's bytes are data, not code. A connection authenticates first with an HMAC-SHA256
  answer to the server's random challenge, keyed by a shared token (``RLVR_GENERATOR_TOKEN`` or a
  token file), so the token never crosses the wire. The server handles one request at a time, in
  arrival order, across all connections: it has one engine.
* **Weights**: a 2-rank ``torch.distributed`` group between trainer rank 0 (rank 0 of the group,
  the sender) and the server (rank 1), built on its own ``TCPStore`` so the learner's default
  process group (DeepSpeed's) is never touched: ``ProcessGroupGloo`` on CPU, vLLM's
  ``PyNcclCommunicator`` over a ``StatelessProcessGroup`` on GPU (vLLM's own trainer-to-worker
  path). For each tensor the client announces (name, dtype, shape) on the control channel, the
  server checks it against its model and acks, then the tensor is broadcast; the server feeds the
  received tensors one by one into its generator's ``load_weights``. So, as in-process, no full
  model is ever materialised, on either side.

Verification is the in-process one, unchanged: :func:`rlvr.generation.weight_sync.sync_weights` streams
``learner.named_full_parameters()`` into :meth:`.client.RemoteGenerator.load_weights`, accumulating the
expected fingerprints as tensors pass, then compares them with the fingerprints the *server*
computes from what its engine multiplies by. Tensors travel in the server's working dtype: the
engine would cast on load anyway and the expected fingerprints are taken after the same cast, so
a bf16 engine halves the bytes on the wire for free.

Multi-rank learners: every rank connects and may request generation for its own prompts; only
rank 0 sends weights, but every rank walks ``named_full_parameters()`` (ZeRO-3 gathers are
collective) and all ranks meet at a barrier before anyone asks for fingerprints or generates
with the new weights.

On connect the client compares the server model's tensor names and shapes with the trainer's
(a different architecture is an error), then rank 0 makes sure the server computes with the
trainer's starting weights (a resumed run, or a server started from another checkpoint): it
compares fingerprints with those of its own model files and, if they differ, streams the files
through the same verified path.
"""
