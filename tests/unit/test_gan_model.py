"""The GAN's networks, conditions, training loop and artifact, without Spark."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from recaug_spark.config import GanModelConfig, GanTrainConfig
from recaug_spark.errors import ArtifactError
from recaug_spark.gan.artifact import METADATA, WEIGHTS, GeneratorArtifact
from recaug_spark.gan.columns import SpanInfo
from recaug_spark.gan.model import Architecture, Critic, Generator, activate, gradient_penalty, gumbel_softmax
from recaug_spark.gan.sample import ConditionLayout, RealRowIndex, flat_spans, generate_rows
from recaug_spark.gan.train import train
from recaug_spark.gan.transform import DataTransformer
from recaug_spark.quality.fidelity import fidelity

CJ = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "completejourney" / "transactions_sample.csv"
TINY_MODEL = GanModelConfig(embedding_dim=16, generator_dims=(32, 32), critic_dims=(32, 32), pac=4)


def shop(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    segment = rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1])
    price = np.where(segment == "a", rng.lognormal(1, 0.3, n), rng.lognormal(3, 0.3, n)).round(2)
    kind = rng.choice(["view", "purchase"], n, p=[0.8, 0.2])
    return pd.DataFrame(
        {"price": price, "hour": rng.integers(0, 24, n).astype(float), "event_type": kind, "segment": segment}
    )


@pytest.fixture(scope="module")
def fitted() -> tuple[pd.DataFrame, DataTransformer]:
    frame = shop(2000, seed=0)
    return frame, DataTransformer.fit(frame, continuous=["price", "hour"], categorical=["event_type", "segment"])


def test_shapes_and_the_pack_rule(fitted: tuple[pd.DataFrame, DataTransformer]) -> None:
    _, transformer = fitted
    layout = ConditionLayout.of(transformer)
    arch = Architecture(transformer.output_dim, layout.cond_dim, 16, (32, 32))
    generator = Generator(arch).eval()
    raw = generator(torch.zeros(8, 16), torch.zeros(8, layout.cond_dim))
    assert raw.shape == (8, transformer.output_dim)
    out = activate(raw, flat_spans(transformer), hard=True)
    assert out.shape == raw.shape
    critic = Critic(transformer.output_dim, (32,), pac=4, dropout=0.0)
    assert critic(out).shape == (2, 1)
    with pytest.raises(ValueError, match="multiple of pac=4"):
        critic(out[:6])
    with pytest.raises(ValueError, match="spans cover"):
        activate(raw[:, :-1], flat_spans(transformer))


def test_gradient_penalty_of_a_linear_critic_is_its_weight_norm_minus_one() -> None:
    """D(x) = w . pack(x) + b has gradient w everywhere, so the penalty is (||w|| - 1)^2 exactly."""
    torch.manual_seed(0)
    critic = Critic(3, (), pac=2, dropout=0.0)
    real, fake = torch.randn(6, 3), torch.randn(6, 3)
    penalty = gradient_penalty(critic, real, fake, torch.rand(3, 1))
    expected = (critic.out.weight.norm() - 1) ** 2
    assert penalty.item() == pytest.approx(expected.item(), rel=1e-6)


def test_gumbel_max_samples_the_softmax() -> None:
    logits = torch.log(torch.tensor([[0.7, 0.2, 0.1]])).repeat(40_000, 1)
    hard = gumbel_softmax(logits, tau=0.2, generator=torch.Generator().manual_seed(1), hard=True)
    assert torch.equal(hard.sum(dim=1), torch.ones(40_000))
    np.testing.assert_allclose(hard.mean(dim=0).numpy(), [0.7, 0.2, 0.1], atol=0.01)


def test_conditions_follow_frequencies_and_real_rows_match_them(fitted: tuple[pd.DataFrame, DataTransformer]) -> None:
    frame, transformer = fitted
    layout = ConditionLayout.of(transformer)
    column, level = layout.draw(60_000, np.random.default_rng(2), log_frequency=False)
    segment = layout.column_index("segment")
    shares = np.bincount(level[column == segment], minlength=3) / (column == segment).sum()
    np.testing.assert_allclose(shares, transformer.categorical[1].frequencies, atol=0.01)
    _, log_level = layout.draw(60_000, np.random.default_rng(2), log_frequency=True)
    log_shares = np.bincount(log_level[column == segment], minlength=3) / (column == segment).sum()
    assert log_shares[2] > shares[2] + 0.1  # training-by-sampling: the rare level is seen more often
    data = transformer.transform(frame)
    rows = RealRowIndex(data, layout).draw(column[:5000], level[:5000], np.random.default_rng(3))
    levels = [transformer.level_index(c.name, frame[c.name]) for c in transformer.categorical]
    picked = np.array([levels[c][r] for c, r in zip(column[:5000], rows, strict=True)])
    assert np.array_equal(picked, level[:5000])


def test_sampling_is_a_function_of_the_seed(fitted: tuple[pd.DataFrame, DataTransformer]) -> None:
    _, transformer = fitted
    layout = ConditionLayout.of(transformer)
    torch.manual_seed(0)
    generator = Generator(Architecture(transformer.output_dim, layout.cond_dim, 16, (32,))).eval()
    cond = layout.vectors(*layout.draw(300, np.random.default_rng(0), log_frequency=False))
    spans = flat_spans(transformer)
    a = generate_rows(generator, transformer, spans, cond, embedding_dim=16, seed=5)
    torch.rand(100)  # the global RNG is never used
    b = generate_rows(generator, transformer, spans, cond, embedding_dim=16, seed=5)
    c = generate_rows(generator, transformer, spans, cond, embedding_dim=16, seed=6)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_training_is_deterministic_for_a_seed(fitted: tuple[pd.DataFrame, DataTransformer]) -> None:
    frame, transformer = fitted
    data = transformer.transform(frame)
    params = GanTrainConfig(batch_size=200, probe_rows=200)
    one = train(data, transformer, frame.iloc[:300], model=TINY_MODEL, params=params, epochs=1, seed=3)
    two = train(data, transformer, frame.iloc[:300], model=TINY_MODEL, params=params, epochs=1, seed=3)
    assert one.state.keys() == two.state.keys()
    assert all(torch.equal(one.state[k], two.state[k]) for k in one.state)
    assert one.history[0].fidelity == two.history[0].fidelity
    assert np.isfinite([one.history[0].critic_loss, one.history[0].generator_loss]).all()


def complete_journey(rows: int) -> pd.DataFrame:
    if not CJ.exists():
        pytest.skip(f"shared data not found: {CJ}")
    raw = pd.read_csv(CJ, nrows=rows, dtype={"store_id": str})
    raw = raw[raw.quantity > 0]
    ts = pd.to_datetime(raw.transaction_timestamp, utc=True)
    return pd.DataFrame(
        {
            "price": (raw.sales_value / raw.quantity).round(6),
            "quantity": raw.quantity.astype(float),
            "hour": ts.dt.hour.astype(float),
            "store": raw.store_id,
            "dow": ts.dt.dayofweek.astype(str),
        }
    ).reset_index(drop=True)


def test_a_short_training_run_on_complete_journey_beats_the_untrained_generator() -> None:
    frame = complete_journey(9000)
    train_rows, holdout = frame.iloc[:7000].reset_index(drop=True), frame.iloc[7000:].reset_index(drop=True)
    continuous, categorical = ["price", "quantity", "hour"], ["store", "dow"]
    transformer = DataTransformer.fit(train_rows, continuous=continuous, categorical=categorical, top_k=20)
    model = GanModelConfig(embedding_dim=32, generator_dims=(64, 64), critic_dims=(64, 64))
    params = GanTrainConfig(batch_size=250, probe_rows=1000, patience=10)
    trained = train(
        transformer.transform(train_rows), transformer, holdout, model=model, params=params, epochs=8, seed=1
    )
    layout = ConditionLayout.of(transformer)
    cond = layout.vectors(*layout.draw(len(holdout), np.random.default_rng(9), log_frequency=False))
    spans = flat_spans(transformer)

    def score(state: dict[str, torch.Tensor] | None) -> float:
        torch.manual_seed(1)  # the untrained network: the same initial weights training started from
        generator = Generator(trained.architecture)
        if state is not None:
            generator.load_state_dict(state)
        rows = generate_rows(generator.eval(), transformer, spans, cond, embedding_dim=32, seed=11)
        return fidelity(holdout, rows, continuous=continuous, categorical=categorical).overall

    untrained, best = score(None), score(trained.state)
    print(f"untrained {untrained:.4f}, trained {best:.4f}")
    assert best > untrained + 0.05, (untrained, best)
    assert trained.best_fidelity is not None and len(trained.history) >= trained.best_epoch >= 1


def artifact(fitted: tuple[pd.DataFrame, DataTransformer]) -> GeneratorArtifact:
    _, transformer = fitted
    arch = Architecture(transformer.output_dim, ConditionLayout.of(transformer).cond_dim, 16, (32,))
    torch.manual_seed(0)
    return GeneratorArtifact.pack(
        Generator(arch).state_dict(), version="v1", architecture=arch, transformer=transformer, info={"note": "x"}
    )


def test_artifact_round_trip(fitted: tuple[pd.DataFrame, DataTransformer]) -> None:
    packed = artifact(fitted)
    back = GeneratorArtifact.from_files(packed.files(), where="mem")
    assert back.version == "v1" and back.architecture == packed.architecture and back.info == {"note": "x"}
    assert back.transformer.to_dict() == packed.transformer.to_dict()
    original, loaded = Generator(packed.architecture), back.generator()
    original.load_state_dict(torch.load(__import__("io").BytesIO(packed.weights), weights_only=True))
    assert all(
        torch.equal(a, b) for a, b in zip(original.state_dict().values(), loaded.state_dict().values(), strict=True)
    )


def test_tampered_or_mismatched_artifacts_fail_with_a_clear_message(
    fitted: tuple[pd.DataFrame, DataTransformer],
) -> None:
    files = artifact(fitted).files()
    flipped = bytearray(files[WEIGHTS])
    flipped[-20] ^= 1
    with pytest.raises(ArtifactError, match="does not match the digest"):
        GeneratorArtifact.from_files({**files, WEIGHTS: bytes(flipped)}, where="a")
    meta = json.loads(files[METADATA])
    wider = {**meta, "architecture": {**meta["architecture"], "generator_dims": [64]}}
    with pytest.raises(ArtifactError, match="weights do not fit the architecture"):
        GeneratorArtifact.from_files({**files, METADATA: json.dumps(wider).encode()}, where="a")
    other = {**meta, "architecture": {**meta["architecture"], "data_dim": meta["architecture"]["data_dim"] + 1}}
    with pytest.raises(ArtifactError, match="do not belong together"):
        GeneratorArtifact.from_files({**files, METADATA: json.dumps(other).encode()}, where="a")
    with pytest.raises(ArtifactError, match="format"):
        GeneratorArtifact.from_files({**files, METADATA: json.dumps({**meta, "format": "x"}).encode()}, where="a")
    with pytest.raises(ArtifactError, match="unfinished write"):
        GeneratorArtifact.from_files({WEIGHTS: files[WEIGHTS]}, where="a")


def test_spans_match_activation() -> None:
    raw = torch.tensor([[0.0, 5.0, -5.0, 1.0]])
    out = activate(
        raw, [SpanInfo(1, "tanh"), SpanInfo(3, "softmax")], generator=torch.Generator().manual_seed(0), hard=True
    )
    assert out[0, 0].item() == 0.0 and out[0, 1:].sum().item() == 1.0
