"""Config: layer order, typed overrides, validation errors that name the key and the file, env expansion."""

from __future__ import annotations

from pathlib import Path

import pytest

from recaug_spark.config import (
    ConstSpec,
    CsvSource,
    DemoSource,
    ExprSpec,
    Layer,
    load_config,
    merge_layers,
    parse_value,
)
from recaug_spark.errors import ConfigError
from tests.helpers import PURCHASE_LOG

REPO = Path(__file__).resolve().parents[2]


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_defaults_are_the_embedded_demo() -> None:
    cfg = load_config()
    assert isinstance(cfg.source, DemoSource)
    assert cfg.spark.delta_version == "4.4.0"
    assert cfg.lake.root == str(Path("lakehouse").resolve())


def test_layers_merge_in_order_and_set_wins(tmp_path: Path) -> None:
    first = write(tmp_path / "a.yaml", "spark: {shuffle_partitions: 3, app_name: from-a}\nrun: {seed: 1}\n")
    second = write(tmp_path / "b.yaml", "spark: {shuffle_partitions: 5}\n")
    cfg = load_config([first, second], ["run.seed=9"])
    assert cfg.spark.shuffle_partitions == 5  # b after a
    assert cfg.spark.app_name == "from-a"  # untouched keys of a survive b
    assert cfg.run.seed == 9  # --set after every file
    assert cfg.spark.driver_memory == "4g"  # from base.yaml


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("7", 7),
        ("0.25", 0.25),
        ("true", True),
        ("False", False),
        ("[a, b]", ["a", "b"]),
        ("local[2]", "local[2]"),
    ],
)
def test_set_values_are_typed(text: str, value: object) -> None:
    assert parse_value(text) == value


def test_set_typed_values_reach_the_model() -> None:
    cfg = load_config(
        [],
        [
            "source.events=5000",
            "source.dirty_share=0.2",
            "ingest.reprocess_files=true",
            "spark.maven_repositories=[https://a.example/m2/, https://b.example/m2/]",
            "spark.master=local[1]",
        ],
    )
    assert isinstance(cfg.source, DemoSource)
    assert (cfg.source.events, cfg.source.dirty_share, cfg.ingest.reprocess_files) == (5000, 0.2, True)
    assert cfg.spark.maven_repositories == ("https://a.example/m2/", "https://b.example/m2/")
    assert cfg.spark.master == "local[1]"


def test_lake_flag_sets_the_root(tmp_path: Path) -> None:
    assert load_config([], [], lake_root=str(tmp_path / "x")).lake.root == str(tmp_path / "x")


def test_unknown_key_names_dotted_key_and_file(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.yaml", "source:\n  kind: demo\n  evnets: 10\n")
    with pytest.raises(ConfigError) as err:
        load_config([bad])
    assert err.value.key == "source.evnets"
    assert err.value.origin == str(bad)
    assert "unknown key" in str(err.value) and str(bad) in str(err.value)


def test_mistyped_value_names_dotted_key_and_file(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.yaml", "spark:\n  shuffle_partitions: many\n")
    with pytest.raises(ConfigError) as err:
        load_config([bad])
    assert err.value.key == "spark.shuffle_partitions"
    assert err.value.origin == str(bad)
    assert "'many'" in str(err.value)


def test_mistyped_set_value_names_set(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config([], ["source.events=lots"])
    assert (err.value.key, err.value.origin) == ("source.events", "--set")


def test_error_inside_a_list_names_the_index(tmp_path: Path) -> None:
    source = (REPO / "conf/sources/completejourney.yaml").read_text()
    bad = write(tmp_path / "cj.yaml", source.replace("action: flag", "action: shout"))
    with pytest.raises(ConfigError) as err:
        load_config([bad])
    assert err.value.key == "source.events.rules[1].action"
    assert err.value.origin == str(bad)


def test_bad_column_spec_is_one_clear_error(tmp_path: Path) -> None:
    source = (REPO / "conf/sources/taobao.yaml").read_text()
    bad = write(tmp_path / "t.yaml", source.replace("ts: timestamp", "ts: {exp: timestamp}"))
    with pytest.raises(ConfigError) as err:
        load_config([bad])
    assert err.value.key == "source.events.columns.ts"
    assert "expected a field name, {expr: <SQL>} or {const: <value>}" in str(err.value)


def test_unknown_source_kind(tmp_path: Path) -> None:
    bad = write(tmp_path / "k.yaml", "source: {kind: parquet}\n")
    with pytest.raises(ConfigError) as err:
        load_config([bad])
    assert err.value.key == "source" and "demo' or 'csv" in str(err.value)


def test_changing_source_kind_replaces_the_whole_section() -> None:
    cfg = load_config([REPO / "conf/sources/taobao.yaml"])
    assert isinstance(cfg.source, CsvSource)  # no demo fields leaked from local.yaml
    assert cfg.source.name == "taobao"


def test_local_yaml_is_the_demo_profile_and_no_other_source_inherits_it(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    write(conf / "base.yaml", (REPO / "conf/base.yaml").read_text())
    write(conf / "local.yaml", "source: {kind: demo, events: 20000}\nevaluate: {sasrec: {steps: 123}}\n")
    demo = load_config(conf_dir=conf)
    assert demo.evaluate.sasrec.steps == 123 and demo.source.events == 20000  # type: ignore[union-attr]
    tweaked = load_config([write(tmp_path / "t.yaml", "evaluate: {sasrec: {lr: 0.002}}\n")], conf_dir=conf)
    assert tweaked.evaluate.sasrec.steps == 123 and tweaked.evaluate.sasrec.lr == 0.002  # no source: still the demo
    bare = tmp_path / "bare"  # base.yaml alone: what a file that sets its source must get
    bare.mkdir()
    write(bare / "base.yaml", (REPO / "conf/base.yaml").read_text())
    for other in (REPO / "conf/sources/taobao.yaml", write(tmp_path / "big.yaml", "source: {kind: demo}\n")):
        cfg = load_config([other], conf_dir=conf)
        assert cfg.evaluate.sasrec == load_config([other], conf_dir=bare).evaluate.sasrec  # not the demo profile's
        assert cfg.evaluate.sasrec.steps != 123
    assert cfg.source.events == 100_000  # type: ignore[union-attr]  # the last file: the demo source's default size


def test_mapping_refers_to_unknown_field(tmp_path: Path) -> None:
    source = (REPO / "conf/sources/taobao.yaml").read_text()
    bad = write(tmp_path / "t.yaml", source.replace("item_id: item_id", "item_id: itemid"))
    with pytest.raises(ConfigError) as err:
        load_config([bad])
    assert err.value.key == "source.events"
    assert "['itemid']" in str(err.value)


def test_column_specs_parse_to_their_kinds() -> None:
    cfg = load_config([REPO / "conf/sources/completejourney.yaml"])
    assert isinstance(cfg.source, CsvSource)
    columns = cfg.source.events.columns
    assert columns["user_id"] == "household_id"
    assert isinstance(columns["price"], ExprSpec)
    assert columns["event_type"] == ConstSpec(const="purchase")


def test_env_vars_expand_with_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECAUG_DATA_DIR", str(tmp_path / "data"))
    cfg = load_config([REPO / "conf/sources/taobao.yaml"])
    assert isinstance(cfg.source, CsvSource)
    assert cfg.source.events.path == (str(tmp_path / "data/taobao_userbehavior/UserBehavior.csv"),)
    monkeypatch.delenv("RECAUG_DATA_DIR")
    cfg = load_config([REPO / "conf/sources/taobao.yaml"])
    assert isinstance(cfg.source, CsvSource)
    assert cfg.source.events.path[0].endswith("shared/data/taobao_userbehavior/UserBehavior.csv")


def test_missing_env_var_without_default_names_key_and_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RECAUG_NOT_SET", raising=False)
    bad = write(tmp_path / "e.yaml", "lake: {root: '${RECAUG_NOT_SET}/lake'}\n")
    with pytest.raises(ConfigError) as err:
        load_config([bad])
    assert (err.value.key, err.value.origin) == ("lake.root", str(bad))
    assert "RECAUG_NOT_SET" in str(err.value)


def test_relative_paths_become_absolute_and_uris_stay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_config([], [], lake_root="rel/lake").lake.root == str(tmp_path / "rel/lake")
    assert load_config([], [], lake_root="s3a://bucket/lake").lake.root == "s3a://bucket/lake"


def test_missing_conf_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_config([tmp_path / "nope.yaml"])
    broken = write(tmp_path / "broken.yaml", "spark: [unclosed\n")
    with pytest.raises(ConfigError) as err:
        load_config([broken])
    assert err.value.origin == str(broken)


def test_merge_records_provenance_per_leaf() -> None:
    merged, origin = merge_layers(
        [
            Layer({"source": {"kind": "demo", "events": 5}}, "local.yaml"),
            Layer({"source": {"kind": "csv"}}, "x.yaml"),
        ]
    )
    assert merged == {"source": {"kind": "csv"}}
    assert origin == {("source",): "x.yaml", ("source", "kind"): "x.yaml"}


def test_config_hash_is_stable_and_sensitive() -> None:
    assert load_config().config_hash() == load_config().config_hash()
    assert load_config().config_hash() != load_config([], ["run.seed=7"]).config_hash()


def test_config_is_frozen() -> None:
    cfg = load_config()
    with pytest.raises(Exception, match="frozen"):
        cfg.run.seed = 3  # type: ignore[misc]


def test_persist_level_maps_to_a_storage_level_and_rejects_others() -> None:
    from pyspark import StorageLevel

    from recaug_spark.session import storage_level

    assert storage_level(load_config().spark) == StorageLevel.MEMORY_AND_DISK_DESER
    assert storage_level(load_config([], ["spark.persist_level=disk_only"]).spark) == StorageLevel.DISK_ONLY
    with pytest.raises(ConfigError) as err:
        load_config([], ["spark.persist_level=off_heap"])
    assert err.value.key == "spark.persist_level"


def test_the_scale_config_loads() -> None:
    cfg = load_config([REPO / "conf" / "scale.yaml"])
    assert (cfg.source.events, cfg.spark.driver_memory, cfg.spark.master) == (50_000_000, "2g", "local[2]")
    assert cfg.spark.persist_level == "disk_only" and cfg.evaluate.max_users == 10_000


@pytest.mark.parametrize(
    ("setting", "key", "needs"),
    [
        ("augment.ops=[{op: gaussian_noise, column: price, sigma: 0.1}, {op: crop}]", "augment.ops[0]", ["price"]),
        ("augment.ops=[{op: crop}, {op: rotation, columns: [price, quantity]}]", "augment.ops[1]",
         ["price", "quantity"]),
        ("augment.ops=[{op: categorical_jitter, attr: device}]", "augment.ops[0]", ["attrs.device"]),
        ("gan.continuous=[hour, quantity]", "gan.continuous[1]", ["quantity"]),
        ("preprocess.normalize=[{column: hour, method: minmax, partition_by: [category]}]",
         "preprocess.normalize[0]", ["category"]),
    ],
)  # fmt: skip
def test_a_configured_op_or_column_the_source_lacks_fails_at_load(
    tmp_path: Path, setting: str, key: str, needs: list[str]
) -> None:
    conf = write(tmp_path / "till.yaml", PURCHASE_LOG.format(root=tmp_path))
    with pytest.raises(ConfigError) as caught:
        load_config([conf], [setting])
    assert caught.value.key == key and caught.value.origin == "--set"
    assert f"needs unknown column(s) {needs}: source 'till' does not fill them" in caught.value.problem
    assert f"map {' and '.join(needs)} in source.events.columns" in caught.value.problem


def test_unset_defaults_follow_the_source_columns(tmp_path: Path) -> None:
    conf = write(tmp_path / "till.yaml", PURCHASE_LOG.format(root=tmp_path))
    cfg = load_config([conf])
    assert [op.op for op in cfg.augment.ops] == ["crop", "substitute"]
    assert cfg.preprocess.impute == () and [s.column for s in cfg.preprocess.normalize] == ["hour"]
    assert cfg.gan.continuous is None  # chosen by train-gan from the data
    demo = load_config()
    assert [op.op for op in demo.augment.ops] == ["gaussian_noise", "crop", "substitute"]
