"""Shape-named array aliases used across sleepjax (one place, jaxtyping style)."""

from jaxtyping import Array, Float, Int, PyTree

Scalar = Float[Array, ""]
ScalarLike = float | Float[Array, ""]
Vector = Float[Array, " n"]
Matrix = Float[Array, "n n"]
Weights = Float[Array, "n_post n_pre"]
Plane = Float[Array, "2 n"]

__all__ = [
    "Array",
    "Float",
    "Int",
    "Matrix",
    "Plane",
    "PyTree",
    "Scalar",
    "ScalarLike",
    "Vector",
    "Weights",
]
