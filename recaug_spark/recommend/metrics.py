"""Ranking-metric kernels in pure numpy: the reference implementation of the evaluation stage.

Data layout:

    recommended        int64 (n_users, L)   item indices in rank order (column 0 is rank 1), right-padded
                                            with -1 when a user has fewer than L recommendations; -1 never
                                            matches anything. A row should not repeat an item (a repeated
                                            relevant item counts as a hit twice here, once in ranking.py).
    relevant_offsets   int64 (n_users + 1)  CSR offsets: user u's relevant items are
                                            relevant_items[relevant_offsets[u]:relevant_offsets[u + 1]]
    relevant_items     int64 (nnz,)         the concatenated, per-user de-duplicated test items (>= 0)
    hit                bool (n_users, L)    hit[u, r] is True when recommended[u, r] is relevant to u
    n_relevant         int (n_users,)       |R_u| = np.diff(relevant_offsets), > 0 for recall, NDCG and MAP

Per-user definitions (binary relevance, ranks r = 1..L, ``hit_r`` in {0, 1}, ``K`` the cut-off):

    precision@K   sum_{r<=K} hit_r / K                        (divides by K even when fewer than K were recommended)
    recall@K      sum_{r<=K} hit_r / |R|
    ndcg@K        DCG / IDCG, DCG = sum_{r<=K} hit_r / log2(r + 1), IDCG = sum_{r<=min(|R|, K)} 1 / log2(r + 1)
    map@K         (1 / min(|R|, K)) * sum_{r<=K} hit_r * precision@r   (truncated average precision)
    hit_rate@K    1 if any hit_r = 1 for r <= K, else 0
    mrr           1 / (rank of the first hit in the whole list of length L), 0 when there is none (not cut at K)
    coverage@K    |distinct items in all users' top K| / n_items (catalogue coverage, one number)

These match Spark MLlib's ``RankingMetrics`` per user (``precisionAt``, ``recallAt``, ``ndcgAt``,
``meanAveragePrecisionAt``; ``meanAveragePrecision`` is map@L when every |R| <= L), except that Spark also
averages in users without relevant items (scoring 0), whereas ``per_user_metrics`` excludes them and says which
users it kept. Everything is vectorized over users; the only Python loops run over K values or row blocks.

Example:
    >>> import numpy as np
    >>> rec = np.array([[3, 1, 2], [0, -1, -1]])
    >>> m = per_user_metrics(rec, np.array([0, 2, 3]), np.array([1, 2, 0]), ks=[2])
    >>> [round(float(v), 4) for v in m["ndcg@2"]], m["mrr"].tolist()
    ([0.3869, 1.0], [0.5, 1.0])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np

_INT64_MAX = int(np.iinfo(np.int64).max)
_TOP_K_BLOCK = 1 << 22  # cells of the score matrix handled at once by top_k_with_ties


def _check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or int(k) < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return int(k)


def _as_hit(hit: np.ndarray) -> np.ndarray:
    array = np.asarray(hit, dtype=bool)
    if array.ndim != 2:
        raise ValueError(f"hit must be a 2-D (n_users, L) array, got shape {array.shape}")
    return array


def _as_n_relevant(n_relevant: np.ndarray, n_users: int) -> np.ndarray:
    counts = np.asarray(n_relevant)
    if counts.shape != (n_users,):
        raise ValueError(f"n_relevant must have shape ({n_users},), got {counts.shape}")
    counts = counts.astype(np.int64)
    if np.any(counts <= 0):
        raise ValueError("n_relevant must be > 0 for every user: exclude users without relevant items first")
    return counts


def _as_recommended(recommended: np.ndarray) -> np.ndarray:
    rec = np.asarray(recommended)
    if rec.ndim != 2:
        raise ValueError(f"recommended must be a 2-D (n_users, L) array, got shape {rec.shape}")
    if rec.size and not np.issubdtype(rec.dtype, np.integer):
        raise ValueError(f"recommended must hold integer item indices, got dtype {rec.dtype}")
    rec = rec.astype(np.int64, copy=False)
    if rec.size and int(rec.min()) < -1:
        raise ValueError("recommended holds item indices >= 0 and -1 as padding only")
    return rec


def _as_csr(relevant_offsets: np.ndarray, relevant_items: np.ndarray, n_users: int) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.asarray(relevant_offsets).astype(np.int64, copy=False)
    items = np.asarray(relevant_items).astype(np.int64, copy=False)
    if offsets.shape != (n_users + 1,):
        raise ValueError(f"relevant_offsets must have shape ({n_users + 1},), got {offsets.shape}")
    if items.ndim != 1:
        raise ValueError(f"relevant_items must be 1-D, got shape {items.shape}")
    if offsets[0] != 0 or offsets[-1] != items.size or np.any(np.diff(offsets) < 0):
        raise ValueError("relevant_offsets must start at 0, never decrease and end at len(relevant_items)")
    if items.size and int(items.min()) < 0:
        raise ValueError("relevant_items must be item indices >= 0")
    return offsets, items


def hits(recommended: np.ndarray, relevant_offsets: np.ndarray, relevant_items: np.ndarray) -> np.ndarray:
    """Boolean hit matrix: whether each recommended item is in its user's relevant set.

    Each (user, item) pair is encoded as the int64 key ``user * bound + item`` (``bound`` = 1 + the largest
    item index seen); the recommended keys are looked up in the sorted relevant keys with ``np.searchsorted``.

    Args:
        recommended: int64 (n_users, L) item indices in rank order, -1 as padding.
        relevant_offsets: int64 (n_users + 1) CSR offsets into ``relevant_items``.
        relevant_items: int64 concatenated per-user relevant items, de-duplicated within each user.

    Returns:
        bool (n_users, L): ``recommended[u, r]`` is relevant to ``u`` (always False on padding).

    Raises:
        ValueError: On malformed inputs, an item repeated within one user's relevant set, or keys that
            would overflow int64.

    Example:
        >>> hits(np.array([[5, 2, -1], [2, 7, 5]]), np.array([0, 1, 3]), np.array([2, 5, 7])).astype(int).tolist()
        [[0, 1, 0], [0, 1, 1]]
    """
    rec = _as_recommended(recommended)
    n_users = rec.shape[0]
    offsets, items = _as_csr(relevant_offsets, relevant_items, n_users)
    if items.size == 0 or rec.size == 0:
        return np.zeros(rec.shape, dtype=bool)
    bound = max(int(items.max()), int(rec.max())) + 1
    if n_users * bound > _INT64_MAX:
        raise ValueError(f"n_users * (max item + 1) = {n_users * bound} overflows int64 keys")
    users = np.repeat(np.arange(n_users, dtype=np.int64), np.diff(offsets))
    keys = np.sort(users * bound + items)
    if np.any(keys[1:] == keys[:-1]):
        raise ValueError("relevant_items must be de-duplicated within each user")
    valid = rec >= 0
    rec_keys = np.arange(n_users, dtype=np.int64)[:, None] * bound + np.where(valid, rec, 0)
    pos = np.minimum(np.searchsorted(keys, rec_keys), keys.size - 1)
    hit: np.ndarray = valid & (keys[pos] == rec_keys)
    return hit


def precision_at(hit: np.ndarray, k: int) -> np.ndarray:
    """Precision at K per user: hits in the top K divided by K (fixed, even when fewer were recommended).

    Args:
        hit: bool (n_users, L) hit matrix from ``hits``.
        k: Cut-off K >= 1 (may exceed L: missing ranks count as misses).

    Returns:
        float64 (n_users,).

    Example:
        >>> precision_at(np.array([[True, False, True]]), 2).tolist()
        [0.5]
    """
    h, k = _as_hit(hit), _check_k(k)
    precision: np.ndarray = h[:, :k].sum(axis=1, dtype=np.float64) / k
    return precision


def recall_at(hit: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """Recall at K per user: hits in the top K divided by the number of relevant items.

    Args:
        hit: bool (n_users, L) hit matrix from ``hits``.
        n_relevant: (n_users,) relevant-set sizes, all > 0.
        k: Cut-off K >= 1.

    Returns:
        float64 (n_users,).

    Example:
        >>> recall_at(np.array([[True, False, True]]), np.array([4]), 3).tolist()
        [0.5]
    """
    h, k = _as_hit(hit), _check_k(k)
    counts = _as_n_relevant(n_relevant, h.shape[0])
    recall: np.ndarray = h[:, :k].sum(axis=1, dtype=np.float64) / counts
    return recall


def _discounts(k: int) -> np.ndarray:
    """1 / log2(r + 1) for ranks r = 1..k."""
    discounts: np.ndarray = 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))
    return discounts


def ndcg_at(hit: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """Binary-relevance NDCG at K per user.

    ``DCG = sum_{r<=K} hit_r / log2(r + 1)`` and ``IDCG = sum_{r<=min(|R|, K)} 1 / log2(r + 1)`` (the ideal list
    puts all relevant items first, so fewer relevant items than K lower the ideal, not the score).

    Args:
        hit: bool (n_users, L) hit matrix from ``hits``.
        n_relevant: (n_users,) relevant-set sizes, all > 0.
        k: Cut-off K >= 1.

    Returns:
        float64 (n_users,) in [0, 1].

    Example:
        >>> ndcg_at(np.array([[False, True]]), np.array([1]), 2).round(4).tolist()
        [0.6309]
    """
    h, k = _as_hit(hit), _check_k(k)
    counts = _as_n_relevant(n_relevant, h.shape[0])
    disc = _discounts(k)
    top = h[:, :k]
    dcg = (top * disc[: top.shape[1]]).sum(axis=1)
    idcg = np.cumsum(disc)[np.minimum(counts, k) - 1]
    ndcg: np.ndarray = dcg / idcg
    return ndcg


def map_at(hit: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """Truncated average precision at K per user (MAP@K is its mean).

    ``AP@K = (1 / min(|R|, K)) * sum_{r<=K} hit_r * precision@r``; a relevant item ranked below K adds nothing.
    With K = L and every |R| <= L this is Spark's untruncated ``meanAveragePrecision`` per user.

    Args:
        hit: bool (n_users, L) hit matrix from ``hits``.
        n_relevant: (n_users,) relevant-set sizes, all > 0.
        k: Cut-off K >= 1.

    Returns:
        float64 (n_users,) in [0, 1].

    Example:
        >>> map_at(np.array([[True, False, True]]), np.array([2]), 3).round(4).tolist()
        [0.8333]
    """
    h, k = _as_hit(hit), _check_k(k)
    counts = _as_n_relevant(n_relevant, h.shape[0])
    top = h[:, :k].astype(np.float64)
    precision = np.cumsum(top, axis=1) / np.arange(1, top.shape[1] + 1, dtype=np.float64)
    average_precision: np.ndarray = (top * precision).sum(axis=1) / np.minimum(counts, k)
    return average_precision


def hit_rate_at(hit: np.ndarray, k: int) -> np.ndarray:
    """Hit rate at K per user: 1.0 when any of the top K is relevant, else 0.0.

    Args:
        hit: bool (n_users, L) hit matrix from ``hits``.
        k: Cut-off K >= 1.

    Returns:
        float64 (n_users,) of 0.0 and 1.0.

    Example:
        >>> hit_rate_at(np.array([[False, True], [False, False]]), 2).tolist()
        [1.0, 0.0]
    """
    h, k = _as_hit(hit), _check_k(k)
    any_hit = cast(np.ndarray, h[:, :k].any(axis=1))  # h is 2-D, so the reduction is an array, not a scalar
    return any_hit.astype(np.float64)


def reciprocal_rank(hit: np.ndarray) -> np.ndarray:
    """Reciprocal rank of the first hit in the whole list (length L), 0.0 when there is none; MRR is its mean.

    Args:
        hit: bool (n_users, L) hit matrix from ``hits``.

    Returns:
        float64 (n_users,).

    Example:
        >>> reciprocal_rank(np.array([[False, False, True, True], [False] * 4])).tolist()
        [0.3333333333333333, 0.0]
    """
    h = _as_hit(hit)
    if h.shape[1] == 0:
        return np.zeros(h.shape[0], dtype=np.float64)
    first = np.argmax(h, axis=1)
    return np.where(h.any(axis=1), 1.0 / (first + 1.0), 0.0)


def coverage(recommended: np.ndarray, *, k: int, n_items: int) -> float:
    """Catalogue coverage at K: distinct items in all users' top K divided by the catalogue size.

    Args:
        recommended: int64 (n_users, L) item indices in rank order, -1 as padding (ignored).
        k: Cut-off K >= 1.
        n_items: Catalogue size; every recommended item must be < n_items.

    Returns:
        Coverage in [0, 1].

    Example:
        >>> coverage(np.array([[0, 1, 2], [1, 0, -1]]), k=2, n_items=4)
        0.5
    """
    rec, k = _as_recommended(recommended), _check_k(k)
    if n_items < 1:
        raise ValueError(f"n_items must be >= 1, got {n_items}")
    top = rec[:, :k]
    items = top[top >= 0]
    if items.size and int(items.max()) >= n_items:
        raise ValueError(f"recommended item {int(items.max())} is outside the catalogue of {n_items} items")
    return float(np.unique(items).size / n_items)


def per_user_metrics(
    recommended: np.ndarray,
    relevant_offsets: np.ndarray,
    relevant_items: np.ndarray,
    *,
    ks: Sequence[int],
) -> dict[str, np.ndarray]:
    """All per-user ranking metrics at each K, over the users that have at least one relevant item.

    Args:
        recommended: int64 (n_users, L) item indices in rank order, -1 as padding.
        relevant_offsets: int64 (n_users + 1) CSR offsets into ``relevant_items``.
        relevant_items: int64 concatenated per-user relevant items, de-duplicated within each user.
        ks: Cut-offs K >= 1.

    Returns:
        ``"precision@K"``, ``"recall@K"``, ``"ndcg@K"``, ``"map@K"``, ``"hit_rate@K"`` for each K (in ``ks``
        order) and ``"mrr"`` (per-user reciprocal rank): float64 arrays over the included users, in user order;
        plus ``"included"``: bool (n_users,), True for users with at least one relevant item.

    Example:
        >>> m = per_user_metrics(np.array([[1, 0], [2, 3]]), np.array([0, 1, 1]), np.array([0]), ks=[1])
        >>> m["included"].tolist(), m["precision@1"].tolist(), m["mrr"].tolist()
        ([True, False], [0.0], [0.5])
    """
    if isinstance(ks, int | np.integer) or len(ks) == 0:
        raise ValueError("ks must be a non-empty sequence of cut-offs")
    cutoffs = [_check_k(k) for k in ks]
    hit = hits(recommended, relevant_offsets, relevant_items)
    n_relevant = np.diff(np.asarray(relevant_offsets).astype(np.int64, copy=False))
    included = n_relevant > 0
    h, counts = hit[included], n_relevant[included]
    out: dict[str, np.ndarray] = {}
    for k in cutoffs:
        out[f"precision@{k}"] = precision_at(h, k)
        out[f"recall@{k}"] = recall_at(h, counts, k)
        out[f"ndcg@{k}"] = ndcg_at(h, counts, k)
        out[f"map@{k}"] = map_at(h, counts, k)
        out[f"hit_rate@{k}"] = hit_rate_at(h, k)
    out["mrr"] = reciprocal_rank(h)
    out["included"] = included
    return out


def _top_k_block(scores: np.ndarray, excluded: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top k column positions of each row (columns already in tie-break order) and whether each is excluded.

    Rows are ordered by (key, tie) ascending, where key = -score (+inf when excluded) and
    tie = excluded * n_cols + column, i.e. score descending, then non-excluded first, then column ascending.
    """
    n_rows, n_cols = scores.shape
    key = np.where(excluded, np.inf, -scores)
    tie = excluded.astype(np.int64) * n_cols + np.arange(n_cols, dtype=np.int64)
    if k < n_cols:
        # The k-th smallest key is the threshold; all keys below it are in, and among the keys equal to it the
        # (k - #below) first in tie order are in: exactly k per row, boundary ties resolved by the tie rule.
        threshold = np.partition(key, k - 1, axis=1)[:, k - 1 : k]
        below = key < threshold
        equal = key == threshold
        equal_in, equal_ex = equal & ~excluded, equal & excluded
        tie_rank = np.where(
            excluded,
            equal_in.sum(axis=1, keepdims=True) + np.cumsum(equal_ex, axis=1) - 1,
            np.cumsum(equal_in, axis=1) - 1,
        )
        chosen = below | (equal & (tie_rank < k - below.sum(axis=1, keepdims=True)))
        cols = np.nonzero(chosen)[1].reshape(n_rows, k)
    else:
        cols = np.broadcast_to(np.arange(n_cols, dtype=np.int64), (n_rows, n_cols))
    rows = np.arange(n_rows)[:, None]
    order = np.lexsort((tie[rows, cols], key[rows, cols]), axis=1)
    cols = np.take_along_axis(cols, order, axis=1)
    return cols, excluded[rows, cols]


def top_k_with_ties(
    scores: np.ndarray,
    *,
    k: int,
    exclude: np.ndarray | None = None,
    item_ids: np.ndarray | None = None,
) -> np.ndarray:
    """Deterministic top K item indices per row of a dense score matrix, ties broken by item.

    Order: score descending (compared as float64; -0.0 equals 0.0), then item index ascending, or ``item_ids``
    ascending when given (equal ids fall back to the item index). The result holds column indices, never ids.
    Boundary ties are exact: when several items share the K-th score, the first ones in tie order are kept.
    Excluded items never appear; a row with fewer than K candidates is right-padded with -1.

    Args:
        scores: (n_users, n_items) scores; NaN allowed only where excluded.
        k: Number of items per row, >= 1.
        exclude: Optional bool (n_users, n_items); True means never recommend (e.g. seen in training).
        item_ids: Optional (n_items,) sortable ids, one per column, used to break score ties.

    Returns:
        int64 (n_users, k) item (column) indices in rank order, -1 as padding.

    Example:
        >>> scores, seen = np.array([[0.5, 0.9, 0.5, 0.5]]), np.array([[False, False, True, False]])
        >>> top_k_with_ties(scores, k=3, exclude=seen).tolist(), top_k_with_ties(scores, k=5, exclude=seen).tolist()
        ([[1, 0, 3]], [[1, 0, 3, -1, -1]])
    """
    k = _check_k(k)
    values = np.asarray(scores, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"scores must be a 2-D (n_users, n_items) array, got shape {values.shape}")
    n_rows, n_cols = values.shape
    excluded = np.zeros(values.shape, dtype=bool) if exclude is None else np.asarray(exclude, dtype=bool)
    if excluded.shape != values.shape:
        raise ValueError(f"exclude must have the shape of scores {values.shape}, got {excluded.shape}")
    if np.any(np.isnan(values) & ~excluded):
        raise ValueError("scores must not be NaN where not excluded")
    if item_ids is None:
        perm = np.arange(n_cols, dtype=np.int64)
    else:
        ids = np.asarray(item_ids)
        if ids.shape != (n_cols,):
            raise ValueError(f"item_ids must have shape ({n_cols},), got {ids.shape}")
        perm = np.argsort(ids, kind="stable").astype(np.int64)
        values, excluded = values[:, perm], excluded[:, perm]
    out = np.full((n_rows, k), -1, dtype=np.int64)
    if n_cols == 0 or n_rows == 0:
        return out
    width = min(k, n_cols)
    block = max(1, _TOP_K_BLOCK // n_cols)
    for start in range(0, n_rows, block):
        stop = min(start + block, n_rows)
        cols, dropped = _top_k_block(values[start:stop], excluded[start:stop], k)
        out[start:stop, :width] = np.where(dropped, -1, perm[cols])
    return out
