"""The augmentation policy in Spark: the policy slice against a pandas reading of the training rows, and
stage policy on a demo lake (evidence, decision, budget, report)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import SparkSession

from recaug_spark.errors import ConfigError
from recaug_spark.lake import Lake
from recaug_spark.pipeline import execute
from recaug_spark.policy import run as run_module
from recaug_spark.policy import slices
from recaug_spark.policy.decide import AA, ABLATION, CONFIRMATION, SELECTION, Decision, Evidence
from recaug_spark.prep import split
from recaug_spark.recommend import variants
from recaug_spark.runs import SKIPPED, SUCCEEDED
from recaug_spark.schema import GOLD_EVAL, GOLD_POLICY, SILVER_EVENTS, SILVER_SPLIT
from tests.conftest import DEMO_EVENTS, test_config

COLD_MAX, SHORT_MAX = 5, 20


def _training(spark: SparkSession, root: Path) -> tuple[object, pd.DataFrame]:
    lake = Lake(spark, str(root))
    train = split.training_rows(lake.read(SILVER_EVENTS), lake.read(SILVER_SPLIT)).select(
        "event_id", "user_id", "item_id", "ts"
    )
    return train, train.toPandas()


def _relevant(carved: slices.PolicySlice) -> dict[tuple[str, str], list[str]]:
    return {(r["segment"], r["user_id"]): list(r["relevant"]) for r in carved.relevant.collect()}


def _expected(fit: pd.DataFrame, held: pd.DataFrame) -> dict[tuple[str, str], list[str]]:
    """The slice as evaluate scores the test period, read with pandas: each user's held items not seen in
    fit, users with fit events only, per segment by fit counts."""
    counts = fit.groupby("user_id").size()
    seen = set(zip(fit["user_id"], fit["item_id"], strict=True))
    out: dict[tuple[str, str], list[str]] = {}
    for user, rows in held.groupby("user_id"):
        n = int(counts.get(user, 0))
        items = sorted({i for i in rows["item_id"] if (user, i) not in seen})
        if n == 0 or not items:
            continue
        segments = ["all", "cold" if n <= COLD_MAX else "warm"] + (["short"] if COLD_MAX < n <= SHORT_MAX else [])
        out |= {(s, str(user)): items for s in segments}
    return out


def test_leave_last_slice_is_each_user_s_last_training_event(spark: SparkSession, demo_split_lake: Path) -> None:
    train, rows = _training(spark, demo_split_lake)
    carved = slices.carve(
        train, "leave_last", cold_max=COLD_MAX, short_max=SHORT_MAX, valid_days=7, max_users=10**6, seed=3
    )
    ordered = rows.sort_values(["user_id", "ts", "event_id"])
    many = ordered.groupby("user_id")["event_id"].transform("size") > 1
    last = ordered.groupby("user_id").cumcount(ascending=False) == 0
    held, fit = ordered[many & last], ordered[~(many & last)]
    assert sorted(carved.fit.toPandas()["event_id"]) == sorted(fit["event_id"])
    expected = _expected(fit, held)
    assert _relevant(carved) == expected
    assert {s for s, _ in expected} == {"all", "warm", "cold", "short"}
    half = len({u for _, u in expected}) // 2
    sampled = slices.carve(
        train, "leave_last", cold_max=COLD_MAX, short_max=SHORT_MAX, valid_days=7, max_users=half, seed=3
    )
    users = {u for _, u in _relevant(sampled)}
    assert len(users) == half and all(v == expected[k] for k, v in _relevant(sampled).items())


def test_global_slice_is_the_training_period_s_last_days(spark: SparkSession, demo_split_lake: Path) -> None:
    train, rows = _training(spark, demo_split_lake)
    carved = slices.carve(
        train, "global", cold_max=COLD_MAX, short_max=SHORT_MAX, valid_days=3, max_users=10**6, seed=3
    )
    day = pd.to_datetime(rows["ts"]).dt.floor("D")
    late = day >= day.max() - pd.Timedelta(days=2)
    assert sorted(carved.fit.toPandas()["event_id"]) == sorted(rows[~late]["event_id"])
    assert _relevant(carved) == _expected(rows[~late], rows[late])
    with pytest.raises(ConfigError, match=r"policy\.valid_days"):
        slices.carve(train, "global", cold_max=COLD_MAX, short_max=SHORT_MAX, valid_days=10_000, max_users=9, seed=3)


# Two ops and a small grid (6 candidates: the recipe and each op, for cold users, mixed or pre-training),
# SASRec 60 steps validated every 10, every candidate admitted (no least first rung): what the stages
# write, not how well the candidates learn.
POLICY_FAST = (
    DEMO_EVENTS, "augment.ops=[{op: crop, eta: 0.8}, {op: substitute, ratio: 0.3}]", "policy.strengths=[]",
    "policy.weights=[1.0]", "policy.targets=[cold]", "policy.modes=[mixed, pretrain]", "policy.first_rung=0",
    "evaluate.sasrec.steps=60",
    "evaluate.sasrec.eval_every=10", "evaluate.sasrec.min_steps=0", "evaluate.bootstrap_resamples=100",
    "evaluate.models=[popularity, sasrec]", "evaluate.variants=[real, real+policy]", "evaluate.ks=[10]",
)  # fmt: skip


def test_stage_policy_writes_its_evidence_and_decision_and_evaluate_applies_it(
    spark: SparkSession, demo_split_lake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The policy stage's evidence, cost and report; then evaluate's real+policy given a choice. The decision
    is the test's (the top rung's candidate for all and cold users, whatever its evidence: decide.py's rule
    has tests of its own, and what is tested here is how the stages carry a decision): SASRec trains with
    the chosen candidate's rows of cold users; popularity, which the policy does not search, is the real
    model (the same lists: differences of 0)."""
    root = tmp_path / "lake"
    shutil.copytree(demo_split_lake, root)
    cfg = test_config(*POLICY_FAST, lake=root)
    decided: list[list[Evidence]] = []

    def forced(model: str, rows: list[Evidence], *, harm: float, spread: Mapping[str, float]) -> Decision:
        decided.append(list(rows))
        return Decision(model, rows[0].candidate, ("all", "cold"), "chosen by the test")

    monkeypatch.setattr(run_module, "decide", forced)
    result = execute("policy", cfg, spark, run_id="pol-1")
    assert result.status == SUCCEEDED, result.message
    table = Lake(spark, str(root)).read(GOLD_POLICY).where("run_id = 'pol-1'").toPandas()
    report = root / "reports" / "pol-1"
    meta = json.loads((report / "policy.json").read_text())["meta"]
    cost = meta["models"]["sasrec"]
    assert meta["candidates"] == 6 and cost["admitted"] <= 6
    rungs = [steps for steps, _ in cost["rungs"]]
    assert rungs[-1] <= 60 and all(s % 10 == 0 for s in rungs) and rungs == sorted(set(rungs))
    # the budget: real, real again on the replication's seed and the candidates <= 4 x real
    assert cost["steps_ratio"] <= 4.0 and cost["real_steps"] == 60 and 0 < cost["twin_steps"] <= 60
    selection, confirmation = table[table["sample"] == SELECTION], table[table["sample"] == CONFIRMATION]
    survivor = decided[0][0].candidate
    for (steps, n), got in zip(cost["rungs"], selection.groupby("steps")["candidate"].nunique(), strict=True):
        assert got == min(n, cost["admitted"]), steps
    assert set(confirmation["steps"]) == {60} and set(confirmation["candidate"]) == {survivor, AA}
    assert [(r.candidate, r.segment) for r in decided[0]] == list(
        zip(confirmation["candidate"], confirmation["segment"], strict=True)
    )  # the decision reads the confirmation half only
    assert set(table["segment"]) <= {"all", "warm", "cold", "short"}
    assert sorted(confirmation[confirmation["chosen"]]["segment"]) == ["all", "cold"]
    assert not selection["chosen"].any()
    assert (table["difference"] - (table["value"] - table["real"])).abs().max() < 1e-12
    assert (table["ci_low"] <= table["difference"]).all() and (table["difference"] <= table["ci_high"]).all()
    candidates, twins = table[table["candidate"] != AA], table[table["candidate"] == AA]
    assert set(candidates["target"]) == {"cold"} and set(candidates["mode"]) == {"mixed", "pretrain"}
    assert set(twins["ops"]) == {"[]"} and set(twins["weight"]) == {0.0} and not twins["chosen"].any()
    assert all(op["op"] in {"crop", "substitute"} for op in json.loads(table["ops"].iloc[0]))
    assert "chosen by the test" in result.message and "chosen by the test" in (report / "policy.md").read_text()

    assert execute("evaluate", cfg, spark, run_id="ev-1").status == SUCCEEDED
    chosen = survivor
    evaluated = json.loads((root / "reports" / "ev-1" / "metrics.json").read_text())["meta"]
    assert evaluated["policy"]["run"] == "pol-1" and evaluated["policy"]["searched"] == ["sasrec"]
    assert evaluated["policy"]["decisions"] == {"sasrec": f"{chosen} (lifts all, cold)"}
    metrics = Lake(spark, str(root)).read(GOLD_EVAL).where("run_id = 'ev-1' AND metric <> 'coverage'").toPandas()
    popular = metrics[(metrics["model"] == "popularity") & (metrics["variant"] == "real+policy")]
    assert len(popular) > 0 and (popular["difference"] == 0).all() and (popular["diff_ci_high"] == 0).all()
    trained = evaluated["training"]
    assert "real+policy/popularity" not in trained and "real+policy/sasrec" in trained
    real_curve, policy_curve = (trained[f"{v}/sasrec"]["history"] for v in ("real", "real+policy"))
    assert len(real_curve) == len(policy_curve) == 6  # the same budget of steps and validations
    assert real_curve[0]["loss"] != policy_curve[0]["loss"]  # trained on other sequences
    assert (root / "models" / "seqrec" / "ev-1-real_policy").is_dir()

    fixed = execute("policy", test_config(*POLICY_FAST, "policy.mode=fixed", lake=root), spark, run_id="pol-2")
    assert fixed.status == SKIPPED and "policy.mode is fixed" in fixed.message


def test_the_ablation_scores_each_op_alone_on_the_slice_and_evaluate_ignores_it(
    spark: SparkSession, demo_split_lake: Path, tmp_path: Path
) -> None:
    """policy.ablation without a search (no real+policy variant): one row per (model, op, segment) on all
    of the slice's users. gaussian_noise copies every training row with another price: each item's
    strength grows by the same factor, so popularity's lists, and its difference with real, stay exactly
    0; crop's copies drop a user's early events, so its strengths, and its row, are its own."""
    root = tmp_path / "lake"
    shutil.copytree(demo_split_lake, root)
    ops = "augment.ops=[{op: gaussian_noise, column: price, sigma: 0.1}, {op: crop, eta: 0.5}]"
    cfg = test_config(*POLICY_FAST, ops, "policy.ablation=[popularity]", "evaluate.variants=[real]", lake=root)
    result = execute("policy", cfg, spark, run_id="abl-1")
    assert result.status == SUCCEEDED, result.message
    table = Lake(spark, str(root)).read(GOLD_POLICY).where("run_id = 'abl-1'").toPandas()
    assert set(table["sample"]) == {ABLATION} and set(table["model"]) == {"popularity"}  # no search ran
    assert set(table["candidate"]) == {"real+gaussian_noise", "real+crop"} and not table["chosen"].any()
    noise = table[table["candidate"] == "real+gaussian_noise"]
    assert set(noise["segment"]) == {"all", "warm", "cold", "short"} & set(table["segment"])
    assert (noise["difference"] == 0).all() and (noise["ci_low"] == 0).all() and (noise["ci_high"] == 0).all()
    assert (table["difference"] - (table["value"] - table["real"])).abs().max() < 1e-12
    carved = slices.carve(
        split.training_rows(Lake(spark, str(root)).read(SILVER_EVENTS), Lake(spark, str(root)).read(SILVER_SPLIT)),
        "global", cold_max=COLD_MAX, short_max=SHORT_MAX, valid_days=7, max_users=50_000, seed=cfg.run.seed,
    )  # fmt: skip
    users = carved.relevant.groupBy("segment").count().toPandas().set_index("segment")["count"].to_dict()
    assert {r.segment: r.users for r in noise.itertuples()} == {s: users[s] for s in noise["segment"]}
    assert json.loads(table[table["candidate"] == "real+crop"]["ops"].iloc[0])[0]["op"] == "crop"
    report = (root / "reports" / "abl-1" / "policy.md").read_text()
    assert "## Ablation: popularity" in report and "real+crop" in report
    choices, meta = variants._policy_choices(Lake(spark, str(root)), cfg)  # evaluate's reader of the policy
    assert choices == {} and meta["run"] == "abl-1" and meta["searched"] == []  # no model was searched
