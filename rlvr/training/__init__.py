"""Training stages: the DeepSpeed/torch learner (``learner``), checkpoints (``checkpoint``), the
run directory and metrics (``run``), RL from verifiable rewards (``rl``) and the supervised
stages (``supervised``, ``sft``, ``pretrain``)."""
