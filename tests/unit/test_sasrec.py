"""SASRec's pure parts: the causal mask, the losses against hand-computed values, the sampled-softmax
correction, seeded training, the artifact round trip and the top-K kernel (no Spark)."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from recaug_spark.config import CropOp, InsertOp, MaskOp, ReorderOp, SasrecConfig, SubstituteOp
from recaug_spark.errors import ArtifactError
from recaug_spark.recommend.sasrec.artifact import SasrecArtifact
from recaug_spark.recommend.sasrec.model import Architecture, SASRec
from recaug_spark.recommend.sasrec.topk import Scorer, right_aligned, top_k_columns
from recaug_spark.recommend.sasrec.train import (
    Negatives,
    Trainer,
    TrainingData,
    bucketed_batches,
    full_softmax_loss,
    mask_items,
    measures,
    sampled_softmax_loss,
    step_loss,
    train,
    validation_ndcg,
    validation_ranks,
)
from recaug_spark.recommend.sasrec.views import ViewMaker

ARCH = Architecture(items=12, max_len=6, hidden=8, inner=16, layers=2, heads=2, dropout=0.0)


def _model(seed: int = 0, arch: Architecture = ARCH) -> SASRec:
    torch.manual_seed(seed)
    return SASRec(arch).eval()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(1, ARCH.items), min_size=ARCH.max_len, max_size=ARCH.max_len),
    st.integers(1, ARCH.max_len - 1),
    st.integers(1, ARCH.items),
)
def test_changing_a_later_item_never_changes_an_earlier_output(items: list[int], position: int, other: int) -> None:
    model = _model()
    seqs = torch.tensor([items])
    changed = seqs.clone()
    changed[0, position] = other
    with torch.no_grad():
        before, after = model(seqs), model(changed)
    torch.testing.assert_close(before[0, :position], after[0, :position], rtol=0, atol=0)


def test_padding_gets_no_attention_so_a_short_history_is_a_history() -> None:
    """A right-aligned row with padding gives its real positions the outputs of the unpadded row."""
    model = _model()
    with torch.no_grad():
        padded = model(torch.tensor([[0, 0, 0, 3, 5, 7]]))
        # the same items at the same positions, the padding replaced by other left context is not the
        # same input; what must hold is that pads are ignored: any pad content gives the same output
        model.items.weight.data[0] += 1.0
        moved = model(torch.tensor([[0, 0, 0, 3, 5, 7]]))
    torch.testing.assert_close(padded[0, 3:], moved[0, 3:], rtol=0, atol=1e-6)


def test_full_softmax_loss_equals_a_hand_computed_case() -> None:
    model = SASRec(Architecture(items=3, max_len=2, hidden=2, inner=2, layers=1, heads=1, dropout=0.0))
    with torch.no_grad():
        model.items.weight.copy_(torch.tensor([[9.0, 9.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))  # row 0: padding
    hidden = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    targets = torch.tensor([1, 3])
    # logits: user 0 -> (2, 0, 2), target item 1 (logit 2); user 1 -> (0, 1, 1), target item 3 (logit 1)
    expected = ((-2 + math.log(2 * math.e**2 + 1)) + (-1 + math.log(1 + 2 * math.e))) / 2
    assert full_softmax_loss(model, hidden, targets).item() == pytest.approx(expected, rel=1e-6)


def test_sampled_softmax_equals_a_hand_computed_case_with_an_accidental_hit_masked() -> None:
    model = SASRec(Architecture(items=4, max_len=2, hidden=2, inner=2, layers=1, heads=1, dropout=0.0))
    with torch.no_grad():
        model.items.weight.copy_(torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 0.0]]))
    hidden = torch.tensor([[1.0, 2.0]])
    negatives = torch.tensor([2, 4])  # K = 2 of N = 4: shift log(4 / 2); target 2 is also a negative
    # positive: item 2 -> 2; negatives: item 2 masked (accidental hit), item 4 -> 2 + log 2
    expected = -2 + math.log(math.e**2 + math.e ** (2 + math.log(2)))
    loss = sampled_softmax_loss(model, hidden, torch.tensor([2]), negatives)
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_the_logq_correction_makes_the_sampled_partition_unbiased() -> None:
    """E[exp(pos) + N/K sum exp(neg), the target masked] = the full softmax's partition function."""
    torch.manual_seed(3)
    n, k = 50, 5
    logits = torch.randn(n) * 2
    target = 7
    full = torch.exp(logits).sum().item()
    generator = torch.Generator().manual_seed(1)
    estimates = []
    for _ in range(20_000):
        negatives = torch.randint(0, n, (k,), generator=generator)
        sampled = torch.exp(logits[negatives] + math.log(n / k)) * (negatives != target)
        estimates.append(math.exp(logits[target].item()) + sampled.sum().item())
    assert np.mean(estimates) == pytest.approx(full, rel=0.03)


def _chain_data(items: int = 30, users: int = 300, length: int = 12, seed: int = 0) -> TrainingData:
    """Users walking a chain: the next item is the current one + 1 (mod items), from a random start."""
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, items, users)
    walks = (starts[:, None] + np.arange(length)[None]) % items + 1
    width = 8
    train_rows = right_aligned(pa.array([w[:-1].tolist() for w in walks]), width + 1)
    return TrainingData(
        sequences=train_rows,
        valid_inputs=right_aligned(pa.array([w[:-1].tolist() for w in walks[:100]]), width),
        valid_targets=walks[:100, -1].astype(np.int64),
        items=items,
    )


FAST = SasrecConfig(max_len=8, hidden=16, inner=32, layers=1, heads=1, dropout=0.0, steps=60, eval_every=5,
                    min_steps=0, batch_size=64, patience=3, loss="full_softmax", device="cpu", threads=1)  # fmt: skip


def test_training_learns_a_deterministic_chain_and_is_seeded() -> None:
    data = _chain_data()
    first = train(data, FAST, seed=5)
    second = train(data, FAST, seed=5)
    assert first.best_ndcg > 0.9, [round(h.ndcg_at_10, 3) for h in first.history]
    assert first.best is not None and first.best.mrr == max(h.mrr for h in first.history)
    assert first.state.keys() == second.state.keys()
    for name, tensor in first.state.items():
        torch.testing.assert_close(tensor, second.state[name], rtol=0, atol=0, msg=name)
    other = train(data, FAST.model_copy(update={"steps": 5}), seed=6)
    assert any(not torch.equal(t, other.state[n]) for n, t in first.state.items())


def test_training_paused_and_resumed_equals_one_run() -> None:
    """A Trainer advanced in three pieces (the policy's rungs) ends with the weights, history and best
    step of one uninterrupted run; advancing a finished trainer does nothing."""
    conf = FAST.model_copy(update={"eval_every": 4, "steps": 30})
    whole = train(_chain_data(), conf, seed=3)
    trainer = Trainer(_chain_data(), conf, seed=3)
    for until in (5, 12, 40):
        trainer.advance(until)
    assert trainer.finished and trainer.step == 30
    assert [h.step for h in trainer.result.history] == [h.step for h in whole.history] == [4, 8, 12, 16, 20, 24, 28, 30]
    assert trainer.result.best_step == whole.best_step
    for name, tensor in whole.state.items():
        torch.testing.assert_close(tensor, trainer.result.state[name], rtol=0, atol=0, msg=name)
    assert trainer.advance(100).steps_run == 30
    best = trainer.best_model()
    for name, tensor in whole.state.items():
        torch.testing.assert_close(tensor, best.state_dict()[name], rtol=0, atol=0, msg=name)


def test_a_planned_switch_happens_after_its_step_however_the_run_is_cut() -> None:
    """``then`` = (12, data): one run, a run advanced in pieces around the switch (10, 12, 13, 30) and a
    run switched by hand with use() after step 12 end with the same weights."""
    conf = FAST.model_copy(update={"eval_every": 4, "steps": 30, "patience": 100})
    pairs = np.zeros_like(_chain_data().sequences)
    pairs[:, -2:] = [1, 2]
    rest = TrainingData(pairs, _chain_data().valid_inputs, _chain_data().valid_targets, items=_chain_data().items)
    whole = train(_chain_data(), conf, seed=4, then=(12, rest))
    pieces = Trainer(_chain_data(), conf, seed=4, then=(12, rest))
    for until in (10, 12, 13, 30):
        pieces.advance(until)
    by_hand = Trainer(_chain_data(), conf, seed=4)
    by_hand.advance(12)
    by_hand.use(rest)
    by_hand.advance(30)
    for name, tensor in whole.state.items():
        torch.testing.assert_close(tensor, pieces.result.state[name], rtol=0, atol=0, msg=name)
        torch.testing.assert_close(tensor, by_hand.result.state[name], rtol=0, atol=0, msg=name)
    assert whole.history[-1].loss < whole.history[0].loss  # it did train on the pairs after the switch


def test_trainer_switches_its_training_sequences_and_keeps_its_model() -> None:
    """use(): from then on the batches come from the new sequences (here every one is item 1 then item 2:
    a loss near 0 once learned), the model goes on from where it was, the catalogue stays the same."""
    data = _chain_data()
    conf = FAST.model_copy(update={"eval_every": 10, "steps": 400, "patience": 100})
    trainer = Trainer(data, conf, seed=2)
    trainer.advance(200)
    forward = trainer.result.best_ndcg
    pairs = np.zeros_like(data.sequences)
    pairs[:, -2:] = [1, 2]
    trainer.use(TrainingData(pairs, data.valid_inputs, data.valid_targets, items=data.items))
    trainer.advance(400)
    history = trainer.result.history
    assert forward > 0.8 and history[-1].step == 400
    assert history[-1].loss < 0.05 < history[0].loss, [round(h.loss, 3) for h in history]
    with pytest.raises(ValueError, match="items"):
        trainer.use(TrainingData(data.sequences, data.valid_inputs, data.valid_targets, items=data.items + 1))


def test_sampled_softmax_training_also_learns_the_chain() -> None:
    conf = FAST.model_copy(update={"loss": "sampled_softmax", "negatives": 8})
    trained = train(_chain_data(), conf, seed=5)
    assert trained.loss == "sampled_softmax" and trained.best_ndcg > 0.8


def test_validation_ndcg_ranks_the_target_among_unseen_items() -> None:
    model = SASRec(Architecture(items=3, max_len=2, hidden=2, inner=2, layers=1, heads=1, dropout=0.0)).eval()
    with torch.no_grad():
        scores = model.logits(model.last_hidden(torch.tensor([[1, 2]])))[0]
    order = [int(i) + 1 for i in torch.argsort(-scores)]  # item indices, best first
    best_unseen = next(i for i in order if i not in (1, 2))
    assert validation_ndcg(model, torch.tensor([[1, 2]]), torch.tensor([best_unseen])) == pytest.approx(1.0)


def _artifact(model: SASRec) -> SasrecArtifact:
    ids = tuple(f"item{i:02d}" for i in range(model.arch.items))[::-1]  # index order is not id order
    return SasrecArtifact.pack(model.state_dict(), version="v1", architecture=model.arch, item_ids=ids, info={"x": 1})


def test_artifact_round_trip_gives_the_same_scores_and_rejects_tampering() -> None:
    model = _model(seed=2)
    artifact = _artifact(model)
    loaded = SasrecArtifact.from_files(artifact.files(), where="t")
    assert loaded.item_ids == artifact.item_ids and loaded.info == {"x": 1}
    seqs = torch.tensor([[0, 0, 1, 4, 9, 2], [3, 3, 5, 6, 7, 8]])
    with torch.no_grad():
        torch.testing.assert_close(
            loaded.model().logits(loaded.model()(seqs)), model.logits(model(seqs)), rtol=0, atol=0
        )
    files = artifact.files()
    with pytest.raises(ArtifactError, match="does not match the digest"):
        SasrecArtifact.from_files({**files, "sasrec.pt": files["sasrec.pt"][:-1] + b"x"}, where="t")
    with pytest.raises(ArtifactError, match="unfinished write"):
        SasrecArtifact.from_files({"sasrec.pt": files["sasrec.pt"]}, where="t")


def test_scorer_masks_seen_items_breaks_ties_by_id_and_ignores_batch_composition() -> None:
    model = _model(seed=4)
    scorer = Scorer.of(_artifact(model))
    rng = np.random.default_rng(0)
    seqs = right_aligned(pa.array([rng.integers(1, 13, rng.integers(1, 7)).tolist() for _ in range(40)]), 6)
    seen = seqs.copy()
    together = scorer.top(seqs, seen, 5)
    alone = [scorer.top(seqs[i : i + 1], seen[i : i + 1], 5)[0] for i in range(len(seqs))]
    assert together == alone
    ids = np.asarray(_artifact(model).item_ids)
    with torch.no_grad():
        scores = model.logits(model.last_hidden(torch.from_numpy(seqs))).double().numpy()
    for row, listed in enumerate(together):
        mine = {ids[i - 1] for i in seqs[row] if i > 0}
        ranked = sorted((-scores[row, j], ids[j]) for j in range(12) if ids[j] not in mine)
        assert listed == [item for _, item in ranked[:5]]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 3), min_size=1, max_size=9), min_size=1, max_size=6), st.integers(0, 11))
def test_top_k_columns_equals_a_full_sort(rows: list[list[int]], k: int) -> None:
    width = max(len(r) for r in rows)
    scores = np.array([r + [-1] * (width - len(r)) for r in rows], dtype=np.float64)  # many ties
    for (columns, values), row in zip(top_k_columns(scores, k), scores, strict=True):
        expected = sorted(range(width), key=lambda j: (-row[j], j))[: min(k, width)]
        assert columns.tolist() == expected and values.tolist() == row[expected].tolist()


@given(st.lists(st.lists(st.integers(1, 99), max_size=9), max_size=8), st.integers(1, 6))
def test_right_aligned_keeps_the_last_items_at_the_right(lists: list[list[int]], width: int) -> None:
    out = right_aligned(pa.array(lists, pa.list_(pa.int64())), width)
    for row, items in zip(out, lists, strict=True):
        kept = items[-width:]
        assert row.tolist() == [0] * (width - len(kept)) + kept


def _maker(*ops: object, similar: dict[int, list[int]] | None = None) -> ViewMaker:
    return ViewMaker(ops, seed=9, mask_index=99, similar=similar or {})  # type: ignore[arg-type]


def test_views_depend_on_the_row_key_not_on_the_batch() -> None:
    maker = _maker(CropOp(op="crop", eta=0.5), MaskOp(op="mask", gamma=0.5, token="[mask]"), ReorderOp(op="reorder"))
    rng = np.random.default_rng(2)
    rows = right_aligned(pa.array([rng.integers(1, 50, rng.integers(2, 12)).tolist() for _ in range(30)]), 12)
    keys = np.arange(100, 130)
    whole = maker.views(rows, keys, epoch=3, width=10)
    parts = [maker.views(rows[i : i + 7], keys[i : i + 7], epoch=3, width=10) for i in range(0, 30, 7)]
    for view in (0, 1):
        np.testing.assert_array_equal(whole[view], np.concatenate([p[view] for p in parts]))
    assert not np.array_equal(whole[0], whole[1])  # two different views
    assert not np.array_equal(whole[0], maker.views(rows, keys, epoch=4, width=10)[0])  # new views each epoch
    for row, one in zip(rows, whole[0], strict=True):
        items, kept = row[row > 0], one[one > 0]
        assert set(kept.tolist()) <= set(items.tolist()) | {99} and len(kept) >= 1  # mask token: index 99


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(st.integers(1, 40), max_size=14), min_size=1, max_size=40),
    st.floats(0.05, 1.0), st.tuples(st.floats(0.0, 1.0), st.booleans()), st.integers(1, 16), st.integers(0, 2**20),
)  # fmt: skip
def test_batched_views_equal_the_item_kernels_row_by_row(
    lists: list[list[int]], ratio: float, mask: tuple[float, bool], width: int, epoch: int
) -> None:
    """Crop, mask (token or removal) and reorder edit the rows that drew them as one matrix; every view
    equals the op's item kernel applied row by row (substitute and insert always run per row)."""
    gamma, token = mask
    ops = (
        CropOp(op="crop", eta=ratio), MaskOp(op="mask", gamma=gamma, token="[mask]" if token else None),
        ReorderOp(op="reorder", beta=ratio), SubstituteOp(op="substitute", ratio=ratio),
        InsertOp(op="insert", ratio=ratio),
    )  # fmt: skip
    similar = {i: [i % 7 + 1, i % 5 + 10] for i in range(1, 41, 3)}
    batched = ViewMaker(ops, seed=4, mask_index=99, similar=similar)
    per_row = ViewMaker(ops, seed=4, mask_index=99, similar=similar, batched=False)
    rows = right_aligned(pa.array(lists, type=pa.list_(pa.int64())), 14)
    keys = np.arange(len(lists)) * 7919 + 3
    for one, two in zip(batched.views(rows, keys, epoch=epoch, width=width),
                        per_row.views(rows, keys, epoch=epoch, width=width), strict=True):  # fmt: skip
        np.testing.assert_array_equal(one, two)


def test_substitute_views_draw_from_the_similar_items_table() -> None:
    maker = _maker(SubstituteOp(op="substitute", ratio=1.0), similar={1: [7], 2: [8]})
    one, two = maker.views(np.array([[0, 1, 2, 3]]), np.array([1]), epoch=0, width=4)
    assert one.tolist() == two.tolist() == [[0, 7, 8, 3]]  # every item with similar items replaced


def test_contrastive_training_is_seeded_and_still_learns_the_chain() -> None:
    maker = _maker(CropOp(op="crop", eta=0.6), MaskOp(op="mask", gamma=0.3, token="[mask]"), ReorderOp(op="reorder"))
    maker.mask_index = 31  # the chain's catalogue has 30 items: the mask is index 31
    first = train(_chain_data(), FAST, seed=5, views=maker)
    second = train(_chain_data(), FAST, seed=5, views=maker)
    assert first.architecture.mask_token and first.state["items.weight"].shape[0] == 32
    for name, tensor in first.state.items():
        torch.testing.assert_close(tensor, second.state[name], rtol=0, atol=0, msg=name)
    plain = train(_chain_data(), FAST, seed=5)
    assert not torch.equal(plain.state["blocks.0.qkv.weight"], first.state["blocks.0.qkv.weight"])
    assert first.best_ndcg > 0.8


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 60), min_size=1, max_size=300), st.integers(1, 40), st.integers(0, 2**16))
def test_bucketed_batches_cover_every_sequence_once_a_pass_with_near_equal_lengths(
    targets: list[int], size: int, seed: int
) -> None:
    counts = np.array(targets)
    generator = torch.Generator().manual_seed(seed)
    stream = bucketed_batches(counts, size, generator)
    seen: list[int] = []
    batch = next(stream)
    while batch[0] == 1:
        rows = batch[1].numpy()
        seen += rows.tolist()
        lengths = np.sort(counts[rows])
        # a batch is a run of the length-sorted order: no other sequence lies strictly between its extremes
        between = ((counts > lengths[0]) & (counts < lengths[-1])).sum()
        assert between <= len(rows), (lengths, between)
        assert counts[rows].sum() <= size * max(counts.mean(), 1) + counts.max()
        batch = next(stream)
    assert sorted(seen) == list(range(len(counts)))


def test_training_stops_after_patience_validations_but_never_before_min_steps() -> None:
    """With a learning rate of ~0 the validation MRR never improves after the first validation."""
    frozen = FAST.model_copy(update={"lr": 1e-12, "steps": 200, "eval_every": 5, "patience": 3, "min_steps": 0})
    early = train(_chain_data(), frozen, seed=1)
    assert early.stopped_early and early.best_step == 5 and early.steps_run == 20
    assert [h.step for h in early.history] == [5, 10, 15, 20]
    held = train(_chain_data(), frozen.model_copy(update={"min_steps": 42}), seed=1)
    assert held.stopped_early and held.steps_run == 45  # the first validation at or after step 42


def test_a_padded_batch_gives_each_row_the_outputs_it_has_alone() -> None:
    """Fused attention with a padding mask: a short row's outputs equal those of the row unpadded (its
    positions counted from the right) and every padded position stays finite."""
    model = _model(seed=4)
    with torch.no_grad():
        batch = model(torch.tensor([[0, 0, 0, 3, 5, 7], [1, 2, 3, 4, 5, 6]]))
        alone = model(torch.tensor([[3, 5, 7]]))
        full = model(torch.tensor([[1, 2, 3, 4, 5, 6]]))
    torch.testing.assert_close(batch[0, 3:], alone[0], rtol=0, atol=1e-5)
    torch.testing.assert_close(batch[1], full[0], rtol=0, atol=1e-5)
    assert bool(torch.isfinite(batch).all())


def test_popularity_negatives_follow_the_mixture_and_correct_by_its_log_q() -> None:
    data = _chain_data()
    conf = FAST.model_copy(update={"loss": "sampled_softmax", "negatives": 40, "popularity_negatives": 0.25})
    sampler = Negatives(data, conf, torch.device("cpu"))
    popularity = data.popularity() / data.popularity().sum()
    q = 0.75 / data.items + 0.25 * popularity
    negatives, log_kq = sampler.draw(torch.Generator().manual_seed(0))
    assert len(negatives) == 40 and int(negatives.min()) >= 1 and int(negatives.max()) <= data.items
    np.testing.assert_allclose(log_kq.numpy(), np.log(40 * q[negatives.numpy() - 1]), rtol=1e-5)
    uniform = Negatives(data, conf.model_copy(update={"popularity_negatives": 0.0}), torch.device("cpu"))
    _, flat = uniform.draw(torch.Generator().manual_seed(0))
    np.testing.assert_allclose(flat.numpy(), math.log(40 / data.items), rtol=1e-6)


def test_validation_measures_rank_against_the_whole_catalogue() -> None:
    """MRR, NDCG@10 and HR@10 from the rank of each target among the unseen items."""
    model = SASRec(Architecture(items=30, max_len=3, hidden=4, inner=4, layers=1, heads=1, dropout=0.0)).eval()
    inputs = torch.tensor([[0, 1, 2], [4, 5, 6]])
    with torch.no_grad():
        scores = mask_items(model.logits(model.last_hidden(inputs)), inputs)
    targets = torch.tensor([int(torch.argsort(-scores[0])[12]) + 1, int(torch.argmax(scores[1])) + 1])
    ranks = validation_ranks(model, inputs, targets)
    assert ranks.tolist() == [12, 0]
    mrr, ndcg, hr = measures(ranks)
    assert (mrr, ndcg, hr) == pytest.approx(((1 / 13 + 1) / 2, 0.5, 0.5))


def test_a_sequence_of_weight_two_counts_as_the_sequence_twice() -> None:
    """The weighted loss of rows (s, t) with weights (2, 1) equals the plain loss of rows (s, s, t)."""
    model = _model(seed=5)
    one, two = torch.tensor([0, 0, 3, 5, 7, 2, 9]), torch.tensor([0, 1, 2, 4, 6, 8, 10])
    negatives = torch.tensor([1, 4, 6, 11])
    weighted = step_loss(model, torch.stack([one, two]), negatives=negatives, weights=torch.tensor([2.0, 1.0]))
    repeated = step_loss(model, torch.stack([one, one, two]), negatives=negatives)
    assert weighted.item() == pytest.approx(repeated.item(), rel=1e-6)
    full = step_loss(model, torch.stack([one, two]), negatives=None, weights=torch.tensor([2.0, 1.0]))
    assert full.item() == pytest.approx(step_loss(model, torch.stack([one, one, two]), negatives=None).item(), rel=1e-6)
