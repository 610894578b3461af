"""2-D views of "before" and "after" token vectors in ONE shared basis.

Both sets are fitted together, so an arrow from ``before[i]`` to ``after[i]`` is a real
displacement in one coordinate system, not two unrelated pictures side by side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attn_core.validation import check_array, check_choice, check_index, check_square

METHODS = ("pca", "tsne", "raw")
"""``pca``: principal components of both sets; ``tsne``: t-SNE (shapes only, distances are
not preserved); ``raw``: two of the original features, as in the seed's picture."""
TSNE_ITERATIONS = 500
"""t-SNE's gradient steps, half of scikit-learn's default: from its PCA start the map has
settled by then."""


@dataclass(frozen=True)
class Plane:
    """Coordinates of ``before`` and ``after`` in one shared 2-D basis.

    Attributes
    ----------
    before, after : ndarray, shape (T, 2)
    method : str
        One of ``METHODS``.
    axis_titles : tuple of str
        What the two axes are, for a chart.
    explained : tuple of float or None
        For PCA, the share of the joint variance each axis keeps.
    """

    before: np.ndarray
    after: np.ndarray
    method: str
    axis_titles: tuple[str, str]
    explained: tuple[float, float] | None = None


def to_plane(
    before: np.ndarray,
    after: np.ndarray,
    *,
    method: str = "pca",
    features: tuple[int, int] = (0, 1),
    seed: int = 0,
    weights: np.ndarray | None = None,
) -> Plane:
    """Project ``before`` and ``after`` rows into one 2-D basis fitted on both.

    t-SNE has no map for points it was not fitted on. Given the attention ``weights`` that
    made ``after`` (``after = weights @ before``), it is fitted on ``before`` alone and each
    after point is placed as attention places it (``mixed_plane``), so a change of W moves
    the after points without a new fit; without them it is fitted on both sets.

    Parameters
    ----------
    before, after : array_like, shape (T, d)
        The same tokens before and after attention (same width ``d``).
    method : {"pca", "tsne", "raw"}, default "pca"
    features : tuple of int, default (0, 1)
        The two original features shown by ``method="raw"``.
    seed : int, default 0
        Random state for t-SNE.
    weights : ndarray, shape (T, T), optional
        For t-SNE: the attention that made ``after`` from ``before``.

    Returns
    -------
    Plane
    """
    before = check_array(before, "before", ("T", "d"))
    t, d = before.shape
    after = check_array(after, "after", ("T", "d"), T=t, d=d)
    check_choice(method, "method", METHODS)
    both = np.vstack([before, after])  # (2T, d)

    if method == "raw":
        i, j = (check_index(f, f"features[{k}]", d) for k, f in enumerate(features))
        coords = both[:, [i, j]]  # (2T, 2)
        return Plane(coords[:t], coords[t:], "raw", (f"feature {i}", f"feature {j}"))
    if method == "pca":
        coords, explained = _pca(both)
        # The shares are not in the titles: a chart whose structure stays the same as the
        # points move is updated in place (see charts.spec); the page prints them beside it.
        return Plane(coords[:t], coords[t:], "pca", ("PC 1", "PC 2"), explained)
    if weights is not None:
        return mixed_plane(tsne_map(before, seed=seed), weights)
    coords = tsne_map(both, seed=seed)
    return Plane(coords[:t], coords[t:], "tsne", ("t-SNE 1", "t-SNE 2"))


def mixed_plane(before: np.ndarray, weights: np.ndarray) -> Plane:
    """A t-SNE map of the before points, with each after point where attention puts it.

    ``y_i = Σ_j w_ij x_j`` drawn in the map: after point i is the same weighted mean of the
    before points' places, ``weights @ before``, inside their hull as it is in full width.

    Parameters
    ----------
    before : ndarray, shape (T, 2)
        The before points' places (``tsne_map``).
    weights : ndarray, shape (T, T)
        Attention weights; rows sum to 1.

    Returns
    -------
    Plane
    """
    before = check_array(before, "before", ("T", 2))
    weights = check_square(weights, "weights", "T", before.shape[0])
    after = weights @ before  # (T, T) @ (T, 2) -> (T, 2)
    return Plane(before, after, "tsne", ("t-SNE 1", "t-SNE 2"))


def tsne_map(points: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """t-SNE of ``points`` (n, d) -> (n, 2), from a PCA start, in ``TSNE_ITERATIONS`` steps.

    Its perplexity is clamped to what a handful of points allows. One thread: on a busy
    server OpenMP's threads spin waiting for each other's cores, slowing the map and every
    other viewer with it.
    """
    points = check_array(points, "points", ("n", "d"))
    n = points.shape[0]
    if n < 4:  # t-SNE needs a few neighbours; with 1 token (2 points) PCA says the same
        return _pca(points)[0]
    from sklearn.manifold import TSNE  # heavy imports, only when asked for
    from threadpoolctl import threadpool_limits

    perplexity = float(min(30.0, max(1.0, (n - 1) / 3.0)))
    tsne = TSNE(
        n_components=2,
        perplexity=perplexity,
        init="pca",
        max_iter=TSNE_ITERATIONS,
        random_state=seed,
    )
    with threadpool_limits(limits=1, user_api="openmp"):  # this thread's OpenMP only
        return tsne.fit_transform(points)


def spread_ratio(before: np.ndarray, after: np.ndarray) -> float:
    """Mean pairwise distance of ``after`` divided by that of ``before``, in full width.

    Below 1: attention pulled the tokens closer together (the seed's "words shift closer
    together"). Computed in the original space, not in a 2-D picture. ``nan`` for one token.
    """
    before = check_array(before, "before", ("T", "d"))
    after = check_array(after, "after", ("T", "d_v"), T=before.shape[0])
    spread_before = mean_pairwise_distance(before)
    if before.shape[0] < 2 or spread_before == 0:
        return float("nan")
    return mean_pairwise_distance(after) / spread_before


def mean_pairwise_distance(points: np.ndarray) -> float:
    """Mean Euclidean distance over all pairs ``i < j`` of rows; 0 for fewer than two rows."""
    t = points.shape[0]
    if t < 2:
        return 0.0
    sq = (points * points).sum(axis=1)  # (T,)
    d2 = sq[:, None] + sq[None, :] - 2.0 * points @ points.T  # (T, T), squared distances
    dist = np.sqrt(np.clip(d2, 0.0, None))  # (T, T); clip rounding below 0
    return float(dist[np.triu_indices(t, k=1)].mean())


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two vectors: 1 for the same direction; ``nan`` if one is zero."""
    a = check_array(a, "a", ("d",))
    b = check_array(b, "b", ("d",), d=a.shape[0])
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b / norm) if norm > 0 else float("nan")


def row_norms(matrix: np.ndarray) -> np.ndarray:
    """Euclidean length of each row: ``(T, d) -> (T,)``, the page's ‖x_i‖ bars."""
    return np.linalg.norm(check_array(matrix, "matrix", ("T", "d")), axis=1)  # (T,)


def _pca(points: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    """First two principal components with a deterministic sign (largest loading > 0).

    The axes are the top eigenvectors of the smaller Gram matrix, ``Cᵀ C`` (d, d) or
    ``C Cᵀ`` (n, n), of the centred points ``C``: the same axes as an SVD of ``C``, from a
    smaller problem.
    """
    centred = points - points.mean(axis=0)  # (n, d)
    n, d = centred.shape
    if n <= d:
        eigenvalues, u = np.linalg.eigh(centred @ centred.T)  # (n,), (n, n); ascending
        variance = np.clip(eigenvalues[::-1][:2], 0.0, None)  # (2,) = s_k², rounding clipped
        top = u[:, ::-1][:, :2]  # (n, 2)
        coords = top * np.sqrt(variance)  # (n, 2): point i on axis k is s_k u_ik
        loadings = centred.T @ top  # (d, n) @ (n, 2) -> (d, 2) = s_k v_k, for the sign
    else:
        eigenvalues, v = np.linalg.eigh(centred.T @ centred)  # (d,), (d, d); ascending
        variance = np.clip(eigenvalues[::-1][:2], 0.0, None)  # (≤2,) = s_k²
        loadings = v[:, ::-1][:, :2]  # (d, ≤2), unit axes
        coords = centred @ loadings  # (n, d) @ (d, ≤2) -> (n, ≤2)
    # An axis is only defined up to sign; fix it (largest loading > 0) so repeated runs,
    # and other machines, draw the same picture instead of a mirror image.
    signs = np.sign(loadings[np.abs(loadings).argmax(axis=0), np.arange(loadings.shape[1])])
    coords = coords * np.where(signs == 0, 1.0, signs)  # (n, ≤2)
    total = float((centred * centred).sum())  # Σ s_k² over every component
    share = variance / total if total > 0 else np.zeros(variance.size)
    if coords.shape[1] < 2:  # one feature: pad the missing axis
        pad = 2 - coords.shape[1]
        coords = np.hstack([coords, np.zeros((coords.shape[0], pad))])
        share = np.concatenate([share, np.zeros(pad)])
    return coords, (float(share[0]), float(share[1]))
