"""The workflow's logic (aifdepth.workflow) as plain functions, and the README's recipes: a knob is
one field, a dataset one module plus its spec, a table row the config plus the contents."""

import contextlib
import dataclasses
import json

import pytest
import yaml
from conftest import REPO, TINY

from aifdepth.cli import build_parser
from aifdepth.cli.model import variant_settings
from aifdepth.datasets import spec as dataset_spec
from aifdepth.errors import InputError
from aifdepth.report import contents
from aifdepth.report.contents import Cell, Table
from aifdepth.settings import SECTIONS, knob_kind, knobs
from aifdepth.workflow import Plan

MAIN = yaml.safe_load((REPO / "config.yaml").read_text())


def tiny() -> dict:
    return yaml.safe_load(TINY.read_text())


def plan(config: dict) -> Plan:
    return Plan.load(config, REPO)


def other_value(f):
    """A valid value of a knob that differs from its default."""
    element, is_list = knob_kind(f)
    if f.metadata["choices"]:
        return next(c for c in f.metadata["choices"] if c != f.default)
    if element is bool:
        return not f.default
    if is_list:
        return [1, 3]
    if f.default is None:
        return 10
    return f.default + 1 if element is int else f.default + 0.5


def test_the_default_config_builds_every_table_and_figure():
    main = plan(MAIN)
    assert not main.notes
    assert set(main.tables) == set(contents.TABLES) and set(main.figures) == set(contents.FIGURES)
    assert "results/claims.md" in main.report_files() and len(main.claims) == 11


@pytest.mark.parametrize(
    "section, field", [(name, f) for name, section in SECTIONS.items() for f in knobs(section)], ids=lambda v: str(v)
)
def test_every_knob_travels_from_the_config_to_the_training(section, field, monkeypatch):
    """Any knob, a new one included: set in a variant, it changes the train rule's params (so that
    training reruns) and arrives in what `aifdepth train` hands to the trainer."""
    config = tiny()
    entry = config["variants"]["hci"]["sup_3d_att"]
    before = plan(config).train_settings_json("hci", "sup_3d_att")
    value = other_value(field)
    target = {"train": "train", "model": "model", "loss": "loss"}[section]
    entry.setdefault(target, {})[field.name] = value
    if field.name == "indices":
        entry["train"]["regime"] = "indices"
    if field.name == "attention":
        entry["test"] = ["val_10"]  # without attention it reads only its training stack size
    if field.name == "arithmetic":
        entry["model"]["focus_input"] = False  # the official network reads no focus channel
    after = plan(config).train_settings_json("hci", "sup_3d_att")
    assert after != before
    assert plan(config).train_settings_json("hci", "unsup_2d_smooth") == plan(tiny()).train_settings_json(
        "hci", "unsup_2d_smooth"
    )

    captured = {}
    monkeypatch.setattr("aifdepth.train.train", lambda model, *args, **kwargs: captured.update(model=model, args=args))
    monkeypatch.setattr("aifdepth.cli.model.cpu_slot_on", lambda device: contextlib.nullcontext())
    parsed = build_parser().parse_args(["train", "s.h5", "--out", "m.pt", "--log", "l.csv", "--settings", after])
    parsed.func(parsed)
    trained = {"model": captured["model"], "train": captured["args"][3], "loss": captured["args"][3].loss}
    expected = tuple(value) if isinstance(value, list) else value
    assert getattr(trained[section], field.name) == expected


def test_a_knob_option_overrides_the_settings_json():
    args = build_parser().parse_args(
        [
            "train",
            "s.h5",
            "--out",
            "m.pt",
            "--log",
            "l.csv",
            "--settings",
            '{"loss": {"supervised": 1}}',
            "--steps",
            "7",
            "--no-attention",
            "--indices",
            "1",
            "5",
            "--regime",
            "indices",
        ]
    )
    settings = variant_settings(args)
    assert settings.training.steps == 7 and settings.training.indices == (1, 5) and not settings.model.attention
    assert settings.training.loss.supervised == 1.0 and settings.training.batch_size == 4  # the field's default


def test_the_schema_knows_every_knob_and_nothing_else():
    config = tiny()
    config["training"]["batch_norm_batches"] = 10  # a knob the schema file never lists: derived
    plan(config)
    config["variants"]["hci"]["sup_3d_att"]["model"]["architecure"] = "aifdepthnet"
    with pytest.raises(InputError, match=r"variants\.hci\.sup_3d_att\.model: .*'architecure' was unexpected"):
        plan(config)


def test_a_bad_knob_value_names_the_variant():
    config = tiny()
    config["variants"]["hci"]["sup_3d_att"]["train"]["regime"] = "indices"  # without its indices
    with pytest.raises(InputError, match=r"variants\.hci\.sup_3d_att.*needs train\.indices"):
        plan(config)
    config = tiny()
    del config["variants"]["hci"]["sup_3d_att"]["loss"]
    with pytest.raises(InputError, match=r"variants\.hci\.sup_3d_att: training aifdepthnet needs a loss"):
        plan(config)


def test_file_lists_and_arguments_of_the_tiny_config():
    tiny_plan = plan(tiny())
    assert "results/stacks/mobiledepth/scene00_aligned.h5" in tiny_plan.stack_files()
    assert tiny_plan.stack_arguments("mobiledepth", "scene00_unaligned") == (
        "--split test --source synthetic --seed 0 --frames unaligned --names scene00"
    )
    assert tiny_plan.stack_arguments("rgbd", "train_15") == (
        "--split train --source synthetic --seed 7 --slices 15 --focus-range 10 60 --aperture 0.1 0.2"
    )
    assert tiny_plan.synthesize_arguments("hci") == "--seed 1 --scenes 5 --size 32 32"
    assert tiny_plan.train_stack_file("middlebury", "sup") == "results/stacks/rgbd/train_15.h5"
    assert tiny_plan.model_file("hci", "sup_3d_att.seed2") == "results/models/hci/sup_3d_att.seed2/model.pt"
    assert json.loads(tiny_plan.train_settings_json("hci", "sup_3d_att.seed2"))["train"]["seed"] == 2
    assert tiny_plan.table_evaluations("table5") == [
        f"results/eval/defocusnet/{v}/test.json" for v in ("classical", "defocusnet", "ours")
    ]
    with pytest.raises(InputError, match=r"table table3: .*hci/sup_3d_noatt/val_10: variants\.hci\.sup_3d_noatt"):
        tiny_plan.table_evaluations("table3")


def test_an_overlay_changes_only_what_it_names(tmp_path):
    overlay = {"extends": "config.yaml", "training": {"steps": 5}, "datasets": {"hci": {"heldout": None}}}
    config = Plan.load(overlay, REPO).config
    assert config["training"]["steps"] == 5 and config["training"]["batch_size"] == MAIN["training"]["batch_size"]
    assert "heldout" not in config["datasets"]["hci"] and config["datasets"]["hci"]["scenes"] == 48
    with pytest.raises(InputError, match=r"extends: nowhere\.yaml names no file"):
        Plan.load({"extends": "nowhere.yaml"}, REPO)


def test_recipe_a_new_dataset_is_a_reader_and_its_spec(monkeypatch):
    """A dataset registered in SPECS alone is accepted by the config schema and the CLI."""
    hci = dataset_spec.SPECS["hci"]
    monkeypatch.setitem(dataset_spec.SPECS, "lytro", dataclasses.replace(hci, name="lytro", published=None))
    config = tiny()
    config["datasets"]["lytro"] = {"source": "synthetic", "scenes": 5}
    config["stacks"]["lytro"] = {"val_10": config["stacks"]["hci"]["val_10"]}
    assert "results/stacks/lytro/val_10.h5" in plan(config).stack_files()
    args = build_parser().parse_args(
        ["build-stack", "lytro", "root", "--split", "val", "--out", "o.h5", "--source", "real"]
    )
    assert args.dataset == "lytro"


def test_recipe_a_table_row_is_the_config_plus_the_contents(monkeypatch):
    row = (("Ours, 2D",), (Cell("defocusnet", "ours_2d", "test"),))
    table5 = contents.TABLES["table5"]
    monkeypatch.setitem(contents.TABLES, "table5", dataclasses.replace(table5, rows=(*table5.rows, row)))
    config = tiny()
    assert "table5" not in plan(config).tables  # the new cell names a variant the config lacks
    assert any("table table5 left out" in note and "ours_2d" in note for note in plan(config).notes)
    config["variants"]["defocusnet"]["ours_2d"] = {
        **config["variants"]["defocusnet"]["ours"],
        "model": {"architecture": "aifdepthnet", "conv": "2d"},
    }
    assert "results/eval/defocusnet/ours_2d/test.json" in plan(config).table_evaluations("table5")
    assert isinstance(contents.TABLES["table5"], Table)


def test_schema_file_lists_no_knob_or_dataset_by_hand():
    """Knobs and dataset names are filled in from the package: the schema file must not repeat them."""
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    assert set(schema["$defs"]["train_settings"]["properties"]) == {"dataset", "stacks"}
    assert set(schema["$defs"]["model"]["properties"]) == {"official"}  # a checkpoint's name, not a knob
    assert schema["$defs"]["loss"]["properties"] == {}
    assert all(schema["properties"][key]["properties"] == {} for key in ("datasets", "stacks", "variants"))


def test_errors_name_the_config_file_they_come_from():
    overlay = {"extends": "config.yaml", "variants": {"hci": {"sup_3d_att": {"test": ["val_11"]}}}}
    with pytest.raises(InputError, match=r"^mine\.yaml \(over config\.yaml\): variants\.hci\.sup_3d_att uses stacks"):
        Plan.load(overlay, REPO, ["mine.yaml"])
    config = tiny()
    config["training"]["steps"] = 0
    with pytest.raises(InputError, match=r"^tiny\.yaml does not follow .*\n  training\.steps: 0 is less than"):
        Plan.load(config, REPO, ["tiny.yaml"])


def test_seed_runs_are_for_variants_the_report_compares():
    """More seeds pay only where a comparison of the report reads them: a claim, or the check of the
    ablations against DefocusNet on a shared test stack."""
    plan(MAIN)  # hci/defocusnet: the ablations are checked against it on val_10 and heldout_10
    alone = {"extends": "config.yaml", "variants": {"hci": {"sup_2d_noatt": {"test": ["heldout_10"]}}}}
    for ablation in ("sup_2d_att", "sup_3d_noatt"):
        alone["variants"]["hci"][ablation] = {"test": ["heldout_10"]}
    alone["variants"]["hci"]["defocusnet"] = {"test": ["val_10"]}
    with pytest.raises(
        InputError, match=r"seed_runs\.variants\.hci names defocusnet, which no claim or check compares"
    ):
        Plan.load(alone, REPO, ["mine.yaml"])
    alone["variants"]["hci"]["sup_2d_att"] = {"test": ["val_10", "heldout_10"]}
    Plan.load(alone, REPO, ["mine.yaml"])


def test_a_direct_regression_variant_is_tested_on_its_own_stack_size():
    """Without attention a model reads one stack size: a test stack of another declared size, or a
    training regime that varies it, fails when the config is read, naming the variant."""
    other_size = {"extends": "config.yaml", "variants": {"hci": {"sup_2d_noatt": {"test": ["val_10", "val_37"]}}}}
    with pytest.raises(InputError, match=r"sup_2d_noatt has no attention, so it reads stacks of 10 slices, but its "):
        Plan.load(other_size, REPO, ["mine.yaml"])
    varying = {"extends": "config.yaml", "variants": {"hci": {"sup_2d_noatt": {"train": {"regime": "arbitrary"}}}}}
    with pytest.raises(InputError, match=r"variants\.hci\.sup_2d_noatt.*regime arbitrary varies the stack size"):
        Plan.load(varying, REPO, ["mine.yaml"])
    subset = {"extends": "config.yaml", "variants": {"hci": {"sup_2d_noatt": {"test": ["val_10_i159"]}}}}
    subset["variants"]["hci"]["sup_2d_noatt"]["train"] = {"regime": "indices", "indices": [1, 5, 9]}
    Plan.load(subset, REPO)


def test_runtimes_a_table_shows_are_timed_with_the_machine_to_itself():
    """The evaluation times again exactly the test stacks whose seconds a table shows (and so the
    claims compare): table3/table4's val_10 and val_37, table5's test, main_table4's val."""
    main = plan(MAIN)
    timed = {
        (dataset, variant): main.evaluation_job(dataset, variant)["timing"]
        for dataset, variant in main.evaluated_variants()
    }
    assert timed[("hci", "sup_3d_att")] == "--timed results/stacks/hci/val_10.h5"
    assert timed[("hci", "sup_3d_att.seed1")] == "--timed results/stacks/hci/val_10.h5"
    assert timed[("hci", "unsup_37")] == "--timed results/stacks/hci/val_37.h5"
    assert timed[("defocusnet", "defocusnet")] == "--timed results/stacks/defocusnet/test.h5"
    assert timed[("ddff", "classical")] == "--timed results/stacks/ddff/val.h5"
    assert timed[("hci", "arbitrary")] == timed[("middlebury", "sup")] == timed[("mobiledepth", "sup")] == ""
    assert sum(bool(t) for t in timed.values()) == 14 + 8 * 2  # the tables' timed variants; seed runs of 8 of them


def test_the_classical_baseline_then_the_longest_trainings_are_scheduled_first():
    main = plan(MAIN)
    trainings = ("hci/sup_3d_noatt", "middlebury/sup", "hci/sup_3d_att", "ddff/ours", "hci/classical")
    priority = {variant: main.train_priority(*variant.split("/")) for variant in trainings}
    assert priority["hci/sup_3d_noatt"] == 760 > priority["middlebury/sup"] == 600 > priority["hci/sup_3d_att"] == 380
    assert priority["hci/sup_3d_att"] > priority["ddff/ours"] == 250
    assert priority["hci/classical"] > priority["hci/sup_3d_noatt"]  # nothing to learn: done at once, first


def with_checkpoints(source: str = "manual", **variant) -> dict:
    config = tiny()
    config["checkpoints"] = {"source": source, "files": {"ddff": "ckpt/DDFF_sup.pth"}}
    if source == "manual":
        config["checkpoints"]["path"] = "/data/authors"
    config["variants"].setdefault("ddff", {})["authors"] = {"model": {"official": "ddff"}, "test": ["val"], **variant}
    return config


def test_a_variant_evaluates_the_authors_checkpoint_imported_once():
    manual = plan(with_checkpoints())
    job = manual.evaluation_job("ddff", "authors")
    assert job["model"] == "results/checkpoints/ddff/model.pt"
    assert job["metrics"] == ["results/eval/ddff/authors/val.json"]
    assert "results/checkpoints/ddff/model.pt" in manual.model_files()
    assert "results/eval/ddff/authors/val.json" in manual.evaluation_files()
    assert manual.checkpoint_input("ddff") == "/data/authors/ckpt/DDFF_sup.pth"
    assert manual.checkpoint_member_option("ddff") == ""
    downloaded = plan(with_checkpoints("download"))
    assert downloaded.checkpoint_input("ddff") == "resources/downloads/checkpoints/ckpt.zip"
    assert downloaded.checkpoint_member_option("ddff") == "--member ckpt/DDFF_sup.pth"
    spaced = with_checkpoints("download")
    spaced["checkpoints"]["files"]["ddff"] = "ckpt/DDFF sup.pth"  # quoted for the shell, as the input path is
    assert plan(spaced).checkpoint_member_option("ddff") == "--member 'ckpt/DDFF sup.pth'"
    assert plan(tiny()).model_files() == [f for f in manual.model_files() if "checkpoints" not in f]


def test_a_table_shows_the_authors_row_when_the_config_declares_it():
    assert "authors" not in {cell.variant for cell in plan(tiny()).tables["table5"].cells()}
    assert plan(tiny()).table_rows_option("table5") == ""
    config = with_checkpoints()
    config["variants"]["defocusnet"]["authors"] = {"model": {"official": "ddff"}, "test": ["test"]}
    declared = plan(config)
    assert declared.tables["table5"].rows[-1][0] == ("Ours (authors' weights)",)
    assert "results/eval/defocusnet/authors/test.json" in declared.table_evaluations("table5")
    assert declared.table_rows_option("table5") == "--with-rows 'Ours (authors'\"'\"' weights)'"
    assert declared.timed_tests("defocusnet", "authors") == ["test"]  # its runtime is shown too


def test_a_checkpoint_variant_is_checked_against_the_checkpoints():
    config = with_checkpoints()
    config["variants"]["ddff"]["authors"]["model"]["official"] = "hci"
    with pytest.raises(InputError, match=r"variants\.ddff\.authors\.model\.official names hci, which checkpoints"):
        plan(config)
    config = with_checkpoints()
    config["variants"]["ddff"]["authors"]["model"]["width"] = "compact"
    with pytest.raises(InputError, match=r"brings its own network, so width cannot be set beside official"):
        plan(config)
    with pytest.raises(InputError, match=r"variants\.ddff\.authors"):  # a checkpoint is not trained
        plan(with_checkpoints(train={"stacks": "val"}))
    config = with_checkpoints()
    del config["checkpoints"]["path"]
    with pytest.raises(InputError, match=r"checkpoints: 'path' is a required property"):
        plan(config)
