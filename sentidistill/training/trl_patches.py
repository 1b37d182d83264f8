"""Patches to TRL that change its speed, never its numbers (each one tested against TRL's own path)."""

from __future__ import annotations

from typing import Any


def score_labelled_positions_only() -> bool:
    """Make TRL's fused LM head project only the positions that carry a label, on CPU too.

    TRL (>= 1.x) scores completion tokens through a fused LM head that skips the ignored
    positions on Triton devices but projects *every* position elsewhere, to keep tile shapes
    fixed for compilers (Neuron). Eager CPU has nothing to recompile, and the loss is on the
    completion only: an ICLDist row is ~300 prompt tokens and ~2 answer tokens, so the
    49K-vocabulary projection + log-softmax of the prompt positions is pure waste. The loss,
    gradients and logged metrics are the same either way (tests/sentidistill/training).
    Returns whether the switch is in place (False on a TRL without the fused head).
    """
    try:
        import trl.trainer.utils as trl_utils
    except ImportError:  # pragma: no cover - trl is a core dependency
        return False
    original = getattr(trl_utils, "_use_triton", None)
    if original is None:
        return False
    if getattr(original, "_sentidistill_compact", False):
        return True

    def compact(device: Any) -> bool:
        return device.type == "cpu" or original(device)

    compact._sentidistill_compact = True  # type: ignore[attr-defined]
    compact.__wrapped__ = original  # type: ignore[attr-defined]
    trl_utils._use_triton = compact
    return True
