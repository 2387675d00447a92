"""``VerifierConfig``: the one config section of the verifier pool.

``rlvr train``, ``rlvr eval`` and ``rlvr sft`` (its held-out accuracy) all score completions with a
:class:`~rlvr.verifiers.pool.VerifierPool`, so they share this section and its keys
(``verifier.workers``, ``verifier.timeout``). Not imported by ``rlvr.verifiers`` itself, which
stays usable without the config loader.
"""

from __future__ import annotations

from dataclasses import dataclass

from rlvr.config import field
from rlvr.verifiers.pool import VerifierPool


@dataclass
class VerifierConfig:
    """The verifier pool: worker processes and the hard per-verdict timeout."""

    workers: int = field(1, ge=1, help="verifier worker processes")
    timeout: float = field(
        5.0, gt=0, help="seconds per verdict before it counts as wrong (reason timeout); also per answer comparison of eval's maj@k"
    )

    def pool(self) -> VerifierPool:
        return VerifierPool(workers=self.workers, timeout=self.timeout)
