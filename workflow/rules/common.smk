# Config validation and the helpers that turn the config into file lists and CLI arguments.

from pathlib import Path

import yaml
from snakemake.utils import update_config, validate

from aifdepth.report.claims import CLAIMS
from aifdepth.report.layout import FIGURES, TABLES
from aifdepth.report.seeds import SEED_MARK, split_seed
from aifdepth.sources import MOBILEDEPTH_SCENES, PUBLISHED


def apply_overlay(config):
    """A config file with `extends: <base>` (a path from the repository root) changes only what it
    names: it is merged over the base. Snakemake itself replaces config.yaml by a --configfile."""
    base_name = config.pop("extends", None)
    if base_name is None:
        return
    base_path = Path(workflow.basedir) / base_name
    if not base_path.is_file():
        raise ValueError(f"config: extends: {base_name} names no file ({base_path} not found)")
    merged = yaml.safe_load(base_path.read_text())
    update_config(merged, dict(config))
    config.clear()
    config.update(drop_nulls(merged))


def drop_nulls(settings):
    """An overlay's `key: null` removes that key of the base (e.g. a stack real data cannot have)."""
    return {k: drop_nulls(v) if isinstance(v, dict) else v for k, v in settings.items() if v is not None}


apply_overlay(config)
validate(config, "../schemas/config.schema.yaml")

for _dataset in config["stacks"]:
    if _dataset not in config["datasets"]:
        raise ValueError(
            f"config.yaml: stacks.{_dataset} is declared but datasets.{_dataset} is not; "
            f"add datasets.{_dataset} (e.g. {{source: synthetic}}) or remove stacks.{_dataset}"
        )


for _dataset, _settings in config["datasets"].items():
    if _settings["source"] != "synthetic" and _dataset not in PUBLISHED:
        raise ValueError(f"config.yaml: datasets.{_dataset} exists only as embedded data; set its source to synthetic")
    if _settings["source"] == "download" and not PUBLISHED[_dataset].files:
        raise ValueError(
            f"config.yaml: datasets.{_dataset} cannot be downloaded automatically (its files are handed out at "
            f"{PUBLISHED[_dataset].page}); fetch and unpack them, then set source: manual and path: <that folder>"
        )


for _dataset, _variants in config["variants"].items():
    for _name, _variant in _variants.items():
        _used = [(_dataset, t) for t in _variant["test"]]
        if "model_from" in _variant:
            _from_dataset, _from_name = _variant["model_from"].split("/")
            if _from_name not in config["variants"].get(_from_dataset, {}):
                raise ValueError(
                    f"config.yaml: variants.{_dataset}.{_name}.model_from names "
                    f"{_variant['model_from']}, which is not a variant"
                )
        else:
            _train = _variant["train"]
            _used.append((_train.get("dataset", _dataset), _train["stacks"]))
        for _where, _stack in _used:
            if _stack not in config["stacks"].get(_where, {}):
                raise ValueError(
                    f"config.yaml: variants.{_dataset}.{_name} uses stacks.{_where}.{_stack}, which is not declared; "
                    f"declared: {sorted(config['stacks'].get(_where, {}))}"
                )


for _dataset, _names in config.get("seed_runs", {}).get("variants", {}).items():
    for _name in _names:
        if _name not in config["variants"].get(_dataset, {}):
            raise ValueError(
                f"config.yaml: seed_runs.variants.{_dataset} names {_name}, which is not a variant of "
                f"variants.{_dataset}; declared: {sorted(config['variants'].get(_dataset, {}))}"
            )


CHECKSUMS = "workflow/checksums.sha256"  # SHA-256 of every downloaded file, recorded on first use; commit it


def dataset_root(dataset):
    return f"resources/{dataset}"


def datasets_from(source):
    """A wildcard pattern matching the datasets of one source (one that matches nothing if none)."""
    names = [name for name, settings in config["datasets"].items() if settings["source"] == source]
    return "|".join(names) if names else "(?!)"


def downloaded_files(dataset):
    return [f"resources/downloads/{dataset}/{remote.name}" for remote in PUBLISHED[dataset].files]


def mirror_option(dataset):
    mirror = config["datasets"][dataset].get("mirror")
    return f"--mirror {mirror}" if mirror else ""


def mobiledepth_scenes():
    """Scene names: the synthetic stand-in's (scene00, scene01, ...) or the real captures'."""
    settings = config["datasets"]["mobiledepth"]
    if settings["source"] != "synthetic":
        return list(MOBILEDEPTH_SCENES)
    return [f"scene{i:02d}" for i in range(settings.get("scenes", 3))]


def stack_names(dataset):
    names = list(config["stacks"].get(dataset, {}))
    if dataset == "mobiledepth":
        return [f"{scene}_{name}" for scene in mobiledepth_scenes() for name in names]
    return names


def all_stack_files():
    return [f"results/stacks/{dataset}/{name}.h5" for dataset in config["stacks"] for name in stack_names(dataset)]


def stack_layout(dataset, name):
    """The config entry of a stack file, plus the mobiledepth scene it covers."""
    scene = None
    if dataset == "mobiledepth":
        scene, name = name.split("_", 1)
    layout = config["stacks"].get(dataset, {}).get(name)
    if layout is None:
        raise ValueError(
            f"config.yaml: no stacks.{dataset}.{name} entry; declared: {sorted(config['stacks'].get(dataset, {}))}"
        )
    return layout, scene


def stack_arguments(dataset, name):
    """CLI options of `aifdepth stacks` for one stack file."""
    layout, scene = stack_layout(dataset, name)
    source = "synthetic" if config["datasets"][dataset]["source"] == "synthetic" else "real"
    args = [f"--split {layout['split']}", f"--source {source}", f"--seed {layout.get('seed', 0)}"]
    if "slices" in layout:
        args.append(f"--slices {layout['slices']}")
    if "focus_range" in layout:
        args.append("--focus-range {} {}".format(*layout["focus_range"]))
    if "indices" in layout:
        args.append("--indices " + " ".join(map(str, layout["indices"])))
    if "random_count" in layout:
        args.append(f"--random-count {layout['random_count']}")
    if "aperture" in layout:
        aperture = layout["aperture"]
        args.append("--aperture " + " ".join(map(str, aperture if isinstance(aperture, list) else [aperture])))
    if "frames" in layout:
        args.append(f"--frames {layout['frames']}")
    if "align" in layout:
        args.append(f"--align {layout['align']}")
    if scene is not None:
        args.append(f"--names {scene}")
    return " ".join(args)


def synthesize_arguments(dataset):
    settings = config["datasets"][dataset]
    args = [f"--seed {settings.get('seed', 0)}"]
    if "scenes" in settings:
        args.append(f"--scenes {settings['scenes']}")
    if "size" in settings:
        args.append("--size {} {}".format(*settings["size"]))
    if settings.get("heldout"):
        args.append(f"--heldout {settings['heldout']}")
    return " ".join(args)


def variant(dataset, name):
    """The config entry of a variant; `name.seedN` is the same variant trained with seed N."""
    base, seed = split_seed(name)
    entry = config["variants"][dataset][base]
    return entry if seed is None else {**entry, "train": {**entry["train"], "seed": seed}}


def seed_run_files():
    """Evaluations of `seed_runs:` on each of the variant's test stacks, seed 0 (the main run) included."""
    runs = config.get("seed_runs", {})
    files = []
    for dataset, names in runs.get("variants", {}).items():
        for name in names:
            for test in variant(dataset, name)["test"]:
                files.append(f"results/eval/{dataset}/{name}/{test}.json")
                files += [f"results/eval/{dataset}/{name}{SEED_MARK}{seed}/{test}.json" for seed in runs["seeds"]]
    return files


def train_settings(dataset, name):
    """The variant's training settings over the defaults of `training:`."""
    return {**config["training"], **variant(dataset, name)["train"]}


def train_stack_file(dataset, name):
    settings = train_settings(dataset, name)
    return f"results/stacks/{settings.get('dataset', dataset)}/{settings['stacks']}.h5"


def train_arguments(dataset, name):
    """CLI options of `aifdepth train` for one variant."""
    entry, settings = variant(dataset, name), train_settings(dataset, name)
    model = {**config.get("model", {}), **entry["model"]}
    args = [f"--architecture {model['architecture']}"]
    for key in ("conv", "width", "attention_mode", "depth_normalisation"):
        if key in model:
            args.append(f"--{key.replace('_', '-')} {model[key]}")
    for key in ("attention", "focus_input"):
        if key in model:
            args.append(f"--{'' if model[key] else 'no-'}{key.replace('_', '-')}")
    loss = entry.get("loss", {})
    args += [
        f"--supervised {loss.get('supervised', 0.0)}",
        f"--unsupervised {loss.get('unsupervised', 0.0)}",
        f"--smoothness {loss.get('smoothness', 0.0)}",
    ]
    for key in (
        "regime",
        "min_slices",
        "steps",
        "batch_size",
        "crop",
        "learning_rate",
        "schedule",
        "warmup_steps",
        "precision",
        "seed",
        "checkpoint_every",
    ):
        if key in settings:
            args.append(f"--{key.replace('_', '-')} {settings[key]}")
    if "indices" in settings:
        args.append("--indices " + " ".join(map(str, settings["indices"])))
    return " ".join(args)


RULE_RESOURCES = {
    "train": {"gpu": 0, "mem_mb": 4000, "runtime": 120},
    "evaluate": {"gpu": 0, "mem_mb": 4000, "runtime": 30},
}


def rule_resource(rule, key):
    """A rule's resource from `resources:` in the config, else the CPU default."""
    return config.get("resources", {}).get(rule, {}).get(key, RULE_RESOURCES[rule][key])


def model_file(dataset, name):
    """The model a variant evaluates: its own, or that of the variant its `model_from` names."""
    base, _ = split_seed(name)
    source = config["variants"][dataset][base].get("model_from")
    return f"results/models/{source if source else f'{dataset}/{name}'}/model.pt"


def model_files():
    return [
        f"results/models/{d}/{v}/model.pt"
        for d, variants in config["variants"].items()
        for v, entry in variants.items()
        if "model_from" not in entry
    ]


def test_stack_names(dataset, name):
    """A variant's test stacks as stack file names (mobiledepth: one per scene)."""
    tests = config["variants"][dataset][name]["test"]
    if dataset == "mobiledepth":
        return [f"{scene}_{test}" for test in tests for scene in mobiledepth_scenes()]
    return list(tests)


def evaluation_files():
    return [
        f"results/eval/{d}/{v}/{t}.json"
        for d, variants in config["variants"].items()
        for v in variants
        for t in test_stack_names(d, v)
    ]


wildcard_constraints:
    dataset="|".join(config["datasets"]),


def table_evaluations(name):
    return sorted({cell.evaluation() for cell in TABLES[name].cells()})


def figure_scenes(name):
    """The scenes a per-scene figure (Mobile Depth) shows, one row each."""
    figure = FIGURES[name]
    return mobiledepth_scenes()[: figure.samples] if figure.per_scene else []


def figure_inputs(name):
    panels = FIGURES[name].panels
    if FIGURES[name].per_scene:
        panels = [panel.for_scene(scene) for scene in figure_scenes(name) for panel in panels]
    return sorted({p.cell.predictions() for p in panels} | {p.cell.stacks() for p in panels})


def figure_scene_option(name):
    scenes = figure_scenes(name)
    return "--scenes " + " ".join(scenes) if scenes else ""


def claims_tables():
    return sorted({f"results/tables/{name}.csv" for claim in CLAIMS for name in claim.tables})


def report_files():
    tables = [f"results/tables/{name}.{ext}" for name in TABLES for ext in ("tex", "csv")]
    figures = [f"results/figures/{name}.{ext}" for name in FIGURES for ext in ("pdf", "png")]
    return tables + figures + ["results/claims.md"]
