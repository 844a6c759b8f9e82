"""The augmentation policy's driver-side parts: the successive-halving schedule and promotion, the
do-no-harm rule, the candidate grid, the search over arms and a candidate's training data (no Spark
session)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from recaug_spark.config import CropOp, GaussianNoiseOp, PolicyConfig, RandomScalingOp, SubstituteOp
from recaug_spark.policy import halving, search
from recaug_spark.policy.candidates import RECIPE, Candidate, grid, scaled, specs
from recaug_spark.policy.decide import AA, NONE, Evidence, decide, lifted, spread_of
from recaug_spark.policy.sasrec import Pool, RealArm, SliceUsers, ndcg
from recaug_spark.recommend.sasrec.train import Trainer, TrainingData
from tests.unit.test_sasrec import FAST, _chain_data


def test_a_schedule_of_27_candidates_costs_its_rungs_and_one_replication_by_hand() -> None:
    plan = halving.schedule(27, 2700, eta=3, unit=100, budget=5.4)
    assert [(r.steps, r.candidates) for r in plan.rungs] == [(100, 27), (300, 9), (900, 3)]
    # 27 x 100 + 9 x 200 + 3 x 600 (each rung's survivors resume) + 2700 (the best of 3, afresh)
    assert plan.steps == 9000 and plan.admitted == 27 and plan.eta == 3 and plan.full == 2700
    # within 4 x, real twice leaves 5400 steps: 27 x 100 + 2700 only, the first eta with a single rung
    # below the top (eta 18's second rung, 2 x 200, does not fit); 26 at 2000 leave 2000: 20 x 100
    tight = halving.schedule(27, 2700, eta=3, unit=100, budget=4.0)
    assert [(r.steps, r.candidates) for r in tight.rungs] == [(100, 27)] and tight.eta == 19
    assert tight.steps == 5400 and tight.admitted == 27
    assert halving.schedule(26, 2000, eta=3, unit=100, budget=4.0).admitted == 20
    # a first rung of at least a quarter of a training: 4 candidates at 500 steps, the rest left out
    quarter = halving.schedule(26, 2000, eta=3, unit=100, budget=4.0, first=0.25)
    assert [(r.steps, r.candidates) for r in quarter.rungs] == [(500, 4)] and quarter.steps == 4000


def test_rungs_fall_on_validations_and_collapse_when_the_unit_is_coarse() -> None:
    # 9500 / 27 = 352 -> 250, 9500 / 9 = 1056 -> 1000, 9500 / 3 = 3167 -> 3250
    assert [(r.steps, r.candidates) for r in halving.rungs(26, 9500, eta=3, unit=250)] == [
        (250, 26), (1000, 9), (3250, 3),
    ]  # fmt: skip
    # 600 / 9 and 600 / 3 both round to the unit: one rung below the top
    assert [(r.steps, r.candidates) for r in halving.rungs(9, 600, eta=3, unit=200)] == [(200, 9)]
    # no room below the top: all of them at the full steps, then the best replicated
    assert halving.rungs(5, 100, eta=3, unit=100) == (halving.Rung(100, 5),)
    assert halving.rungs(1, 500, eta=3, unit=100) == ()  # one candidate: straight to the replication


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 200), st.integers(1, 20_000), st.integers(2, 5), st.integers(1, 500),
    st.tuples(st.floats(2.0, 8.0), st.floats(0.0, 1.0)),
)  # fmt: skip
def test_a_schedule_stays_within_its_budget(n: int, full: int, eta: int, unit: int, share: tuple[float, float]) -> None:
    budget, first = share  # in trainings on real: the whole search, the first rung
    plan = halving.schedule(n, full, eta=eta, unit=unit, budget=budget, first=first)
    assert plan.steps <= (budget - 2) * full  # real trains twice: its seed and the replication's
    assert plan.admitted <= n and plan.eta >= eta and plan.full == full
    if plan.admitted > 1:
        steps = [r.steps for r in plan.rungs]
        survivors = [r.candidates for r in plan.rungs]
        assert steps[0] >= first * full  # nobody is dropped before the first rung's share of a training
        assert steps == sorted(set(steps)) and steps[-1] <= full
        assert survivors[0] == plan.admitted and survivors == sorted(survivors, reverse=True)
    elif plan.admitted == 1:
        assert plan.rungs == () and plan.steps == full
    else:
        assert plan.steps == 0 and budget < 3


def test_promotion_keeps_the_best_in_order_and_breaks_ties_by_position() -> None:
    assert halving.promote([0.1, 0.3, 0.3, 0.2], 2) == [1, 2]
    assert halving.promote([0.2, 0.5, 0.5, 0.5], 2) == [1, 2]
    assert halving.promote([0.0], 3) == [0]


def _evidence(candidate: str, segment: str, low: float, *, real: float = 0.1, users: int = 100) -> Evidence:
    return Evidence("sasrec", candidate, segment, 1000, users, real + low + 0.01, real, low + 0.01, low, low + 0.02)


def test_a_candidate_is_chosen_for_the_segments_it_lifts_without_harm() -> None:
    rows = [
        _evidence("crop", "all", -0.0009), _evidence("crop", "short", 0.002), _evidence("crop", "cold", -0.01),
        _evidence("insert", "all", 0.0001), _evidence("insert", "cold", 0.004), _evidence("insert", "warm", 0.003),
    ]  # fmt: skip
    decision = decide("sasrec", rows, harm=0.01, spread={})
    # both qualify; insert's weakest lifted segment (0.0001 on all) is below crop's (0.002 on short)
    assert (decision.candidate, decision.segments) == ("crop", ("short",))
    assert decide("sasrec", rows[3:], harm=0.01, spread={}).segments == ("all", "cold", "warm")
    # the spread of real's two trainings taken from its A/A rows (never a candidate themselves); with
    # 0.0025 on short and 0.0005 on all, crop's short lift (low 0.002) is within it and its all-users low
    # falls to -1.4% of real; insert keeps cold and warm, its all-users low now -0.0004
    twins = [_evidence(AA, "all", 0.0), _evidence(AA, "short", 0.001)]
    spread = spread_of(twins)
    assert spread == pytest.approx({"all": 0.01, "short": 0.011})  # |difference| = low + 0.01
    assert decide("sasrec", rows + twins, harm=0.01, spread={"short": 0.0025, "all": 0.0005}).segments == (
        "cold", "warm",
    )  # fmt: skip


def test_no_candidate_means_no_augmentation_in_words() -> None:
    harmful = [_evidence("crop", "all", -0.0011), _evidence("crop", "short", 0.002)]
    decision = decide("sasrec", harmful, harm=0.01, spread={})
    assert decision.candidate == NONE and decision.segments == ()
    assert decision.reason == (
        "no augmentation: crop lifts short, but on all users its interval reaches -1.1% of real (the limit is -1.0%)"
    )
    flat = [_evidence("crop", "all", -0.0005), _evidence("crop", "cold", -0.0001)]
    assert decide("sasrec", flat, harm=0.01, spread={}).reason == (
        "no augmentation: no candidate's difference with real (crop) has an interval above 0 in any segment"
    )
    assert decide("sasrec", harmful, harm=0.01, spread={"short": 0.003}).reason == (
        "no augmentation: no candidate's difference with real (crop) has an interval widened by the spread of "
        "real's two trainings above 0 in any segment"
    )
    assert decide("sasrec", [], harm=0.01, spread={}).reason == "no augmentation: no candidate was trained"
    # a lift on a segment without users, or without an all-users row, never counts
    none: dict[str, float] = {}
    assert lifted([_evidence("c", "all", 0.001), _evidence("c", "cold", 0.01, users=0)], harm=0.01, spread=none) == (
        "all",
    )  # fmt: skip
    assert lifted([_evidence("c", "cold", 0.01)], harm=0.01, spread=none) == ()


SEGMENT_NAMES = st.sampled_from(["all", "short", "cold"])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("abc"), SEGMENT_NAMES, st.floats(-0.01, 0.01)), max_size=12),
    st.dictionaries(SEGMENT_NAMES, st.floats(0.0, 0.005)),
)  # fmt: skip
def test_a_chosen_candidate_never_risks_more_than_the_harm_on_all_users(
    rows: list[tuple[str, str, float]], spread: dict[str, float]
) -> None:
    evidence = [_evidence(c, s, low) for c, s, low in rows]
    decision = decide("sasrec", evidence, harm=0.01, spread=spread)
    if decision.candidate == NONE:
        assert decision.segments == () and decision.reason.startswith("no augmentation: ")
        return
    mine = [e for e in evidence if e.candidate == decision.candidate]
    everyone = next(e for e in mine if e.segment == "all")
    assert everyone.ci_low - spread.get("all", 0.0) >= -0.01 * everyone.real
    assert decision.segments and all(
        any(e.segment == s and e.ci_low > spread.get(s, 0.0) for e in mine) for s in decision.segments
    )
    # widening can only take segments away
    assert set(decision.segments) <= set(lifted(mine, harm=0.01, spread={}))


RECIPE_OPS = (
    GaussianNoiseOp(op="gaussian_noise", column="price", sigma=0.05),
    CropOp(op="crop", eta=0.8, p=0.5),
    SubstituteOp(op="substitute", ratio=0.2),
)


def test_strength_scales_the_registry_parameter_within_its_bounds() -> None:
    assert scaled(CropOp(op="crop", eta=0.8), 0.5).eta == pytest.approx(0.9)  # type: ignore[union-attr]
    assert scaled(GaussianNoiseOp(op="gaussian_noise", column="price", sigma=0.05), 2.0).sigma == 0.1  # type: ignore[union-attr]
    assert scaled(SubstituteOp(op="substitute", ratio=1.0), 2.0) is None  # already at its bound: unchanged
    assert scaled(CropOp(op="crop", eta=0.4), 2.0) is None  # eta would be -0.2
    assert scaled(RandomScalingOp(op="random_scaling", column="price"), 2.0) is None  # no one strength
    assert scaled(CropOp(op="crop", eta=0.8), 1.0) is None


def test_the_grid_varies_one_factor_at_a_time_around_each_base() -> None:
    search = PolicyConfig()
    candidates = grid(RECIPE_OPS, search)
    ops = specs(RECIPE_OPS, search)
    names = [c.name for c in candidates]
    assert len(names) == len(set(names)) == 26
    assert names[:4] == [
        "recipe, w0.5, all, mixed", "gaussian_noise, w0.5, all, mixed", "crop, w0.5, all, mixed",
        "substitute, w0.5, all, mixed",
    ]  # fmt: skip
    assert candidates[0].source == RECIPE and candidates[0].specs == (0, 1, 2)
    crop_half = next(c for c in candidates if c.name == "crop x0.5, w0.5, all, mixed")
    assert ops[crop_half.specs[0]] == CropOp(op="crop", eta=0.9, p=0.5)
    for candidate in candidates:  # at most one factor off the base
        off = [candidate.strength != 1, candidate.weight != 0.5, candidate.target != "all", candidate.mode != "mixed"]
        assert sum(off) <= 1, candidate.name
        assert all(0 <= i < len(ops) for i in candidate.specs)
    assert {c.name for c in grid(RECIPE_OPS[1:2], search)} == {
        "crop, w0.5, all, mixed", "crop x0.5, w0.5, all, mixed", "crop x2, w0.5, all, mixed",
        "crop, w1, all, mixed", "crop, w0.5, short, mixed", "crop, w0.5, cold, mixed",
        "crop, w0.5, all, pretrain",
    }  # fmt: skip
    with pytest.raises(ValueError, match="at least 1 item"):
        PolicyConfig(targets=())


class _Arm:
    """A fake arm: its per-user values are a fixed offset over real's, counted from its steps."""

    def __init__(self, offset: np.ndarray) -> None:
        self.offset, self.steps, self.calls = offset, 0, []

    def advance(self, steps: int) -> None:
        self.calls.append(steps)
        self.steps = steps

    def values(self) -> np.ndarray:
        return BASE + self.offset * min(self.steps, 400) / 400

    @property
    def seconds(self) -> float:
        return float(self.steps)


BASE = np.linspace(0.1, 0.5, 40)  # 40 users' values under real


def test_the_search_promotes_by_merit_and_replicates_the_best_on_another_seed() -> None:
    segments = {"all": np.ones(40, dtype=bool), "cold": np.arange(40) < 10}
    lift_cold = np.where(segments["cold"], 0.2, 0.0)
    offsets = {"a": np.full(40, -0.3), "b": lift_cold, "c": np.full(40, 0.001), "d": np.zeros(40)}
    made: dict[tuple[str, int], _Arm] = {}

    def make(candidate: Candidate, replica: int) -> _Arm:
        made[candidate.source, replica] = _Arm(offsets[candidate.source])
        return made[candidate.source, replica]

    arms = [Candidate(name, 1.0, (0,), 1.0, "all", "mixed") for name in offsets]
    plan = halving.Schedule((halving.Rung(100, 4), halving.Rung(200, 2)), full=400, eta=2, admitted=4)
    real, twin = _Arm(np.zeros(40)), _Arm(np.full(40, 0.001))  # real on the second seed: 0.001 luckier
    confirm = np.arange(40) % 2 == 1
    boot = search.Bootstrap(200, 0.95, 0)
    found = search.run(
        "m", real, arms, make, lambda: twin, plan=plan, segments=segments, confirm=confirm, boot=boot, harm=0.01
    )
    assert real.calls == [100, 200, 400] and twin.calls == [400]
    assert made["a", 0].calls == [100] and made["d", 0].calls == [100]  # harmful, and no lift: dropped first
    assert made["b", 0].calls == [100, 200] and made["c", 0].calls == [100, 200]
    assert made["b", 1].calls == [400] and set(made) == {(x, 0) for x in "abcd"} | {("b", 1)}  # b afresh
    assert {r.candidate.split(",")[0] for r in found.top} == {"b", AA} and {r.steps for r in found.top} == {400}
    assert {r.sample for r in found.top} == {"confirmation"}  # decided on the half no promotion read
    assert {(r.steps, r.sample) for r in found.rows} == {(100, "selection"), (200, "selection"), (400, "confirmation")}
    assert all(r.users == 20 for r in found.rows if r.segment == "all")
    cold = next(r for r in found.top if r.segment == "cold" and r.candidate != AA)
    assert cold.users == 5 and cold.difference == pytest.approx(0.2 - 0.001) and cold.ci_low > 0  # against the twin
    assert spread_of(found.top) == pytest.approx({"all": 0.001, "cold": 0.001})
    assert found.candidate_steps == 4 * 100 + 2 * 100 + 400
    assert found.candidate_seconds == 100 + 100 + 200 + 200 + 400  # each run's seconds once: a, d, c, b, b again
    assert found.twin_seconds == 400
    assert decide("m", found.top, harm=0.01, spread=spread_of(found.top)).segments == ("all", "cold")


def test_a_lift_that_was_one_run_s_luck_is_not_believed() -> None:
    """e's run on the search's seed is 0.05 better on every user; on the other seed it is 0.001 above real,
    as real's two runs are 0.002 apart: a constant difference, an interval of one point above 0, inside
    the runs' spread."""
    luck = {("e", 0): 0.05, ("e", 1): 0.003, ("z", 0): 0.0, ("z", 1): 0.0}

    def make(candidate: Candidate, replica: int) -> _Arm:
        return _Arm(np.full(40, luck[candidate.source, replica]))

    arms = [Candidate(name, 1.0, (0,), 1.0, "all", "mixed") for name in ("z", "e")]
    plan = halving.Schedule((halving.Rung(400, 2),), full=400, eta=2, admitted=2)
    real, twin = _Arm(np.zeros(40)), _Arm(np.full(40, 0.002))
    everyone = {"all": np.ones(40, dtype=bool)}
    found = search.run(
        "m", real, arms, make, lambda: twin, plan=plan, segments=everyone, confirm=np.arange(40) % 2 == 1,
        boot=search.Bootstrap(200, 0.95, 0), harm=0.01,
    )  # fmt: skip
    chosen = next(r for r in found.rows if r.sample == "selection" and r.candidate.startswith("e"))
    assert chosen.ci_low == pytest.approx(0.05)
    (replicated,) = [r for r in found.top if r.candidate != AA]
    assert replicated.candidate.startswith("e") and replicated.ci_low == pytest.approx(0.001)
    assert decide("m", found.top, harm=0.01, spread={}).segments == ("all",)  # the users' interval alone
    decision = decide("m", found.top, harm=0.01, spread=spread_of(found.top))
    assert decision.candidate == NONE and "widened by the spread of real's two trainings" in decision.reason


def test_a_candidate_s_training_data_adds_its_own_windows_at_its_weight() -> None:
    real = TrainingData(
        sequences=np.array([[0, 1, 2], [1, 2, 3]]), valid_inputs=np.zeros((1, 2), dtype=np.int64),
        valid_targets=np.array([1]), items=4,
    )  # fmt: skip
    windows = np.array([[1, 2, 3], [0, 2, 4], [0, 3, 4], [0, 1, 2]])
    pool = Pool(real=real, windows=windows, spec=np.array([0, 0, 1, 0]), group=np.array([0, 2, 2, 1]))
    everyone = pool.data(Candidate("x", 1.0, (0,), 0.5, "all", "mixed"))
    assert everyone.sequences.tolist() == [[0, 1, 2], [0, 2, 4], [1, 2, 3]]  # lexicographic, equal windows one row
    assert everyone.weights is not None and everyone.weights.tolist() == [1.5, 0.5, 1.5]
    cold = pool.data(Candidate("x", 1.0, (0, 1), 2.0, "cold", "mixed"))
    assert cold.sequences.tolist() == [[0, 1, 2], [0, 2, 4], [0, 3, 4], [1, 2, 3]]
    assert cold.weights is not None and cold.weights.tolist() == [1.0, 2.0, 2.0, 1.0]
    none = pool.data(Candidate("x", 1.0, (1,), 1.0, "short", "mixed"))  # spec 1 has no short user's window
    assert none.sequences.tolist() == real.sequences.tolist() and none.weights is None
    assert none.valid_targets is real.valid_targets


def _slice_users(data: TrainingData, n: int) -> SliceUsers:
    """The first ``n`` validation users as a policy slice: input = their validation input, relevant = the
    target (plus, for every third user, a second relevant item outside the catalogue)."""
    inputs, targets = data.valid_inputs[:n], data.valid_targets[:n]
    counts = np.where(np.arange(n) % 3 == 0, 2, 1)
    return SliceUsers(
        users=np.array([f"u{i}" for i in range(n)], dtype=object), inputs=inputs, seen=inputs,
        relevant_offsets=np.arange(n + 1, dtype=np.int64), relevant_items=targets.astype(np.int64),
        relevant_count=counts, segments={"all": np.ones(n, dtype=bool)}, confirm=np.zeros(n, dtype=bool),
    )  # fmt: skip


def test_slice_ndcg_equals_a_brute_force_ranking() -> None:
    data = _chain_data()
    users = _slice_users(data, 60)
    model = Trainer(data, FAST, seed=1).best_model()  # untrained weights: scores with no structure
    found = ndcg(model, users, chunk=7)
    with torch.no_grad():
        scores = model.logits(model.last_hidden(torch.from_numpy(users.inputs))).numpy()
    for u in range(60):
        seen = set(users.inputs[u][users.inputs[u] > 0].tolist())
        ranked = sorted((i for i in range(1, data.items + 1) if i not in seen), key=lambda i: (-scores[u, i - 1], i))
        rank = ranked.index(int(users.relevant_items[u]))
        ideal = sum(1 / np.log2(r + 2) for r in range(users.relevant_count[u]))
        assert found[u] == pytest.approx((1 / np.log2(rank + 2) if rank < 10 else 0.0) / ideal)


def test_real_s_arm_answers_with_its_best_weights_as_of_each_step() -> None:
    data = _chain_data()
    users = _slice_users(data, 50)
    real = RealArm(Trainer(data, FAST, seed=2), users)
    assert real.steps == Trainer(data, FAST, seed=2).advance(FAST.steps).steps_run  # one run, to its end
    for step in (5, 15, 30, real.steps):
        alone = Trainer(data, FAST, seed=2)
        alone.advance(step)  # trained to `step` only: its best as of `step`
        real.advance(step)
        assert np.array_equal(real.values(), ndcg(alone.best_model(), users)), step
