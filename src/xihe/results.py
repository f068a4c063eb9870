"""Results of running a circuit: counts, probabilities, per-shot memory, statevector and metadata.

Bit order (DESIGN.md): a count key joins all classical bits in declaration order with bit 0 of the first register
leftmost, no spaces. Every result records this as ``bit_order = "c0_leftmost"``. A statevector's amplitude index,
read in binary, has qubit 0 as its leftmost bit.

This module imports only numpy (and matplotlib inside :meth:`Result.plot`), so the client can use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

BIT_ORDER = "c0_leftmost"


@dataclass
class Result:
    """What one circuit gave: ``counts`` over ``shots``, plus ``memory``/``statevector`` when asked for."""

    counts: dict[str, int]
    shots: int
    memory: list[str] | None = None
    statevector: np.ndarray | None = None
    exact_probabilities: dict[str, float] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    bit_order: str = BIT_ORDER

    @property
    def probabilities(self) -> dict[str, float]:
        """Exact outcome probabilities when the engine computed them, else the counts divided by shots."""
        if self.exact_probabilities is not None:
            return dict(self.exact_probabilities)
        if not self.shots:
            return {}
        return {k: v / self.shots for k, v in self.counts.items()}

    def most_frequent(self) -> str:
        return max(self.counts, key=lambda k: (self.counts[k], k))

    def marginal(self, bits: list[int]) -> dict[str, int]:
        """Counts over a subset of classical bits (positions in the key, leftmost = bit 0)."""
        out: dict[str, int] = {}
        for key, n in self.counts.items():
            sub = "".join(key[b] for b in bits)
            out[sub] = out.get(sub, 0) + n
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (complex amplitudes as ``[re, im]`` pairs)."""
        data: dict[str, Any] = {
            "counts": dict(self.counts),
            "shots": self.shots,
            "bit_order": self.bit_order,
            "metadata": dict(self.metadata),
        }
        if self.memory is not None:
            data["memory"] = list(self.memory)
        if self.exact_probabilities is not None:
            data["probabilities"] = dict(self.exact_probabilities)
        if self.statevector is not None:
            data["statevector"] = [[float(a.real), float(a.imag)] for a in np.asarray(self.statevector)]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Result:
        sv = data.get("statevector")
        return cls(
            counts={str(k): int(v) for k, v in data.get("counts", {}).items()},
            shots=int(data.get("shots", 0)),
            memory=list(data["memory"]) if data.get("memory") is not None else None,
            statevector=np.array([complex(re, im) for re, im in sv]) if sv is not None else None,
            exact_probabilities=dict(data["probabilities"]) if data.get("probabilities") is not None else None,
            metadata=dict(data.get("metadata", {})),
            bit_order=str(data.get("bit_order", BIT_ORDER)),
        )

    def plot(self, ax: Any = None, title: str | None = None) -> Any:
        """A matplotlib bar chart of the probabilities; returns the axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(max(4.0, 0.5 * len(self.counts) + 2), 3.5))
        probs = self.probabilities
        keys = sorted(probs)
        ax.bar(keys, [probs[k] for k in keys], color="#3b6ea5")
        ax.set_ylabel("probability")
        ax.set_xlabel(f"outcome ({self.bit_order.replace('_', ' ')})")
        if title:
            ax.set_title(title)
        ax.tick_params(axis="x", rotation=90 if len(keys) > 8 else 0)
        return ax
