"""Parameter checks shared by the physics models: a clear ValueError naming the limit."""

import math


def check(name, value, minimum=None, strict=False, maximum=None):
    """``value`` as a finite float within its limits, else ValueError naming ``name``.

    ``minimum`` is inclusive unless ``strict``; ``maximum`` is inclusive.
    """
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if minimum is not None and (v <= minimum if strict else v < minimum):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {minimum}, got {v}")
    if maximum is not None and v > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {v}")
    return v
