"""A small thin-plate-spline solver (Bookstein 1989) for the TPS-warping baseline of Table 8.2.

f(q) = a_0 + A q + sum_i w_i U(|q - p_i|), U(r) = r^2 log r (U(0) = 0), fitted so that f(p_i) = v_i
(exactly for ``regularization`` 0; a smoothing spline with K + lambda I otherwise), under the side
conditions sum w_i = 0 and sum w_i p_i = 0. Points are given in pixels and solved in units of
``scale`` (the image size), so that lambda means the same at every image size.

OpenCV's ``createThinPlateSplineShapeTransformer`` would do the same, but its point order and
direction conventions are easy to get backwards, and it needs at least three points anyway; a
direct solve is short and testable.

Fewer than three distinct points, or points on one line, leave the affine part undetermined; then
``fit_warp`` falls back to a similarity (two points), a translation (one) or the identity (none) and
says which.
"""
import dataclasses

import numpy as np

RANK_TOLERANCE = 1e-3  # smallest relative singular value of [1, x, y] for a fit of the affine part


def _kernel(r):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(r > 0, r * r * np.log(np.maximum(r, 1e-300)), 0.0)


@dataclasses.dataclass(frozen=True)
class Warp:
    """A map of (x, y) pixel coordinates: TPS (``controls`` not None) or affine (``affine`` only)."""

    affine: np.ndarray            # (3, 2): rows a_0, then the linear part (x, y -> x', y')
    kind: str                     # "tps", "similarity", "translation" or "identity"
    controls: np.ndarray | None = None  # (n, 2), in units of scale
    weights: np.ndarray | None = None   # (n, 2)
    scale: float = 1.0

    def __call__(self, points):
        """f of (m, 2) (x, y) pixel coordinates -> (m, 2)."""
        q = np.asarray(points, np.float64) / self.scale
        out = np.concatenate([np.ones((len(q), 1)), q], axis=1) @ self.affine
        if self.controls is not None:
            r = np.linalg.norm(q[:, None, :] - self.controls[None, :, :], axis=-1)
            out = out + _kernel(r) @ self.weights
        return out * self.scale


def _distinct(source, target):
    """Drops repeated source points (keeping the first): they would make the system singular."""
    _, first = np.unique(np.round(source, 9), axis=0, return_index=True)
    keep = np.sort(first)
    return source[keep], target[keep]


def fit_tps(source, target, regularization=0.0, scale=1.0):
    """The TPS with f(source_i) = target_i ((n, 2) (x, y) points, n >= 3 and not collinear)."""
    p = np.asarray(source, np.float64) / scale
    v = np.asarray(target, np.float64) / scale
    n = len(p)
    P = np.concatenate([np.ones((n, 1)), p], axis=1)
    K = _kernel(np.linalg.norm(p[:, None] - p[None], axis=-1)) + regularization * np.eye(n)
    L = np.zeros((n + 3, n + 3))
    L[:n, :n], L[:n, n:], L[n:, :n] = K, P, P.T
    rhs = np.zeros((n + 3, 2))
    rhs[:n] = v
    try:
        solution = np.linalg.solve(L, rhs)
    except np.linalg.LinAlgError:
        solution = np.linalg.lstsq(L, rhs, rcond=None)[0]
    return Warp(affine=solution[n:], kind="tps", controls=p, weights=solution[:n], scale=scale)


def _similarity(p, v):
    """The rotation + uniform scale + translation taking p[0], p[1] to v[0], v[1] (complex form)."""
    zp, zv = p[:, 0] + 1j * p[:, 1], v[:, 0] + 1j * v[:, 1]
    a = (zv[1] - zv[0]) / (zp[1] - zp[0])
    b = zv[0] - a * zp[0]
    # x' + i y' = a (x + i y) + b
    return np.array([[b.real, b.imag], [a.real, a.imag], [-a.imag, a.real]])


def fit_warp(source, target, regularization=0.0, scale=1.0):
    """``fit_tps`` where three or more non-collinear points allow it, else the fallback named by
    the returned Warp's ``kind``."""
    p, v = _distinct(np.asarray(source, np.float64).reshape(-1, 2),
                     np.asarray(target, np.float64).reshape(-1, 2))
    if len(p) >= 3:
        design = np.concatenate([np.ones((len(p), 1)), p / scale], axis=1)
        singular = np.linalg.svd(design - [0, *design[:, 1:].mean(0)], compute_uv=False)
        if singular[-1] > RANK_TOLERANCE * max(singular[0], 1e-12):
            return fit_tps(p, v, regularization, scale)
    if len(p) >= 2:
        return Warp(affine=_similarity(p[:2] / scale, v[:2] / scale), kind="similarity", scale=scale)
    identity = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    if len(p) == 1:
        identity[0] = (v[0] - p[0]) / scale
        return Warp(affine=identity, kind="translation", scale=scale)
    return Warp(affine=identity, kind="identity", scale=scale)


def sampling_maps(warp, height, width):
    """float32 (map_x, map_y) of ``cv2.remap``: the warp of every pixel (x, y) of the output."""
    ys, xs = np.mgrid[0:height, 0:width]
    mapped = warp(np.stack([xs.ravel(), ys.ravel()], axis=1))
    return (mapped[:, 0].reshape(height, width).astype(np.float32),
            mapped[:, 1].reshape(height, width).astype(np.float32))
