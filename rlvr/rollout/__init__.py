"""From prompts to training experience: sampling and scoring groups with dynamic-sampling
refills (``sample``), the asynchronous rollout pipeline (``pipeline``), rewards from verdicts
(``rewards``) and the padded tensors the learner trains on (``experience``)."""
