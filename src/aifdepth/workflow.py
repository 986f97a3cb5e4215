"""The workflow's logic as plain functions of the config: merging an overlay, validating and
cross-checking, and turning the config into each target's file list and each job's CLI
arguments. The .smk files only call these, so every one of them has a unit test.

No torch here: Snakemake imports this module every time it parses the workflow."""

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import yaml
from snakemake.utils import update_config

from .datasets.spec import SPECS
from .errors import InputError
from .report.claims import CLAIMS, SEED_MARK, is_ablation, split_seed
from .report.contents import FIGURES, TABLES, Cell
from .settings import SECTIONS, VariantSettings, knob_schema

SCHEMA = "workflow/schemas/config.schema.yaml"
CHECKSUMS = "workflow/checksums.sha256"  # SHA-256 of every downloaded file, recorded on first use; commit it
CHECKPOINT_ARCHIVE = "resources/downloads/checkpoints/ckpt.zip"  # the authors' released checkpoints
WORKFLOW_KEYS = ("dataset", "stacks")  # keys of a variant's `train:` that pick its data, not how it trains
# Above any training's steps: the data jobs, which unblock trainings, and the classical baseline. With
# --cores above the real cores, trainings ready first had filled Snakemake's job slots, and the 37-slice
# hci training stack started 15 minutes late, its two trainings last of all (measured).
FIRST_PRIORITY = 1_000_000
RULE_RESOURCES = {
    "train": {"gpu": 0, "mem_mb": 4000, "runtime": 120},
    "evaluate": {"gpu": 0, "mem_mb": 4000, "runtime": 30},
}


def merge_overlay(config: dict, basedir) -> dict:
    """A config file with `extends: <base>` (a path from the repository root) changes only what it
    names: it is merged over the base, and its `key: null` removes that key of the base (e.g. a
    stack real data cannot have). Snakemake itself replaces config.yaml by a --configfile."""
    config = dict(config)
    base_name = config.pop("extends", None)
    if base_name is None:
        return config
    base_path = Path(basedir) / base_name
    if not base_path.is_file():
        raise InputError(f"config: extends: {base_name} names no file ({base_path} not found)")
    merged = yaml.safe_load(base_path.read_text())
    update_config(merged, config)
    return _drop_nulls(merged)


def _drop_nulls(settings: dict) -> dict:
    return {k: _drop_nulls(v) if isinstance(v, dict) else v for k, v in settings.items() if v is not None}


def shell_option(flag: str, *values) -> str:
    """`flag` and its values quoted for a rule's shell command, or nothing when no value is set."""
    values = [str(value) for value in values if value]
    return shlex.join([flag, *values]) if values else ""


def config_schema(path) -> dict:
    """The config schema of `path` with the knob sections (model, train, loss) filled in from
    `aifdepth.settings` and the dataset names from `aifdepth.datasets.spec`, where they are declared."""
    schema = yaml.safe_load(Path(path).read_text())
    definitions = schema["$defs"]
    definitions["model"]["properties"] = {**definitions["model"]["properties"], **knob_schema(SECTIONS["model"])}
    definitions["loss"]["properties"] = knob_schema(SECTIONS["loss"])
    definitions["train_settings"]["properties"] = {
        **definitions["train_settings"]["properties"],
        **knob_schema(SECTIONS["train"]),
    }
    per_dataset = {"datasets": "#/$defs/dataset", "stacks": "#/$defs/stack_set", "variants": "#/$defs/variant_set"}
    for key, definition in per_dataset.items():
        schema["properties"][key]["properties"] = {name: {"$ref": definition} for name in SPECS}
    return schema


def validate(config: dict, schema: dict, source: str = "config.yaml") -> None:
    """Every schema violation at once, each with the config key it concerns."""
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"  {'.'.join(map(str, e.absolute_path)) or '(top level)'}: {e.message}" for e in errors]
        raise InputError(f"{source} does not follow workflow/schemas/config.schema.yaml:\n" + "\n".join(lines))


@dataclass
class Plan:
    """A validated config and everything the rules ask of it. `notes` are the one-line
    messages the workflow prints at start-up (e.g. a table this config cannot fill)."""

    config: dict
    source: str = "config.yaml"  # the config file(s) named in messages

    @classmethod
    def load(cls, config: dict, basedir, configfiles=()) -> "Plan":
        """`configfiles`: the files Snakemake read (its --configfile), else config.yaml."""
        source = ", ".join(map(str, configfiles)) or "config.yaml"
        if "extends" in config:
            source += f" (over {config['extends']})"
        config = merge_overlay(config, basedir)
        validate(config, config_schema(Path(basedir) / SCHEMA), source)
        return cls(config, source)

    def __post_init__(self):
        self.notes: list[str] = []
        self._check_datasets()
        self._check_checkpoints()
        self._check_variants()
        self.tables = {
            name: self._with_declared_rows(table)
            for name, table in TABLES.items()
            if self._fills(f"table {name}", table.cells())
        }
        self.figures = {
            name: figure
            for name, figure in FIGURES.items()
            if self._fills(f"figure {name}", [cell for p in figure.panels for cell in p.cells()])
        }
        self.claims = [claim for claim in CLAIMS if set(claim.tables) <= set(self.tables)]
        left_out = [claim.key for claim in CLAIMS if claim not in self.claims]
        if left_out:
            self.notes.append(f"claims {', '.join(left_out)} left out of the report: their tables are left out")

    # --- cross-checks ---------------------------------------------------------------------

    def _check_datasets(self) -> None:
        config = self.config
        for dataset in config["stacks"]:
            if dataset not in config["datasets"]:
                raise InputError(
                    f"{self.source}: stacks.{dataset} is declared but datasets.{dataset} is not; "
                    f"add datasets.{dataset} (e.g. {{source: synthetic}}) or remove stacks.{dataset}"
                )
        for dataset, settings in config["datasets"].items():
            published = SPECS[dataset].published
            if settings["source"] != "synthetic" and published is None:
                raise InputError(
                    f"{self.source}: datasets.{dataset} exists only as embedded data; set its source to synthetic"
                )
            if settings["source"] == "download" and not published.files:
                raise InputError(
                    f"{self.source}: datasets.{dataset} cannot be downloaded automatically (its files are handed out "
                    f"at {published.page}); fetch and unpack them, then set source: manual and path: "
                    "<that folder>"
                )

    def _check_checkpoints(self) -> None:
        """A variant's `model: {official: <name>}` names a file of `checkpoints:`, and nothing else:
        the checkpoint brings its own network."""
        if "official" in self.config.get("model", {}):
            raise InputError(
                f"{self.source}: model.official names one checkpoint for every variant; set it per variant instead"
            )
        files = self.config.get("checkpoints", {}).get("files", {})
        for dataset, variants in self.config["variants"].items():
            for name, entry in variants.items():
                checkpoint = entry.get("model", {}).get("official")
                if checkpoint is None:
                    continue
                if checkpoint not in files:
                    raise InputError(
                        f"{self.source}: variants.{dataset}.{name}.model.official names {checkpoint}, which "
                        f"checkpoints.files does not declare; declared: {sorted(files)}"
                    )
                others = sorted(set(entry["model"]) - {"official"})
                if others:
                    raise InputError(
                        f"{self.source}: variants.{dataset}.{name}.model: an official checkpoint brings its own "
                        f"network, so {', '.join(others)} cannot be set beside official; remove them"
                    )

    def _check_variants(self) -> None:
        config = self.config
        for dataset, variants in config["variants"].items():
            for name, entry in variants.items():
                used = [(dataset, test) for test in entry["test"]]
                if "model_from" in entry:
                    from_dataset, from_name = entry["model_from"].split("/")
                    if from_name not in config["variants"].get(from_dataset, {}):
                        raise InputError(
                            f"{self.source}: variants.{dataset}.{name}.model_from names {entry['model_from']}, "
                            "which is not a variant"
                        )
                elif "train" in entry:  # else the authors' checkpoint (`_check_checkpoints`)
                    used.append((entry["train"].get("dataset", dataset), entry["train"]["stacks"]))
                    settings = self.variant_settings(dataset, name)  # a bad knob fails here, naming the variant
                    if settings.model.architecture == "aifdepthnet" and not settings.model.attention:
                        self._check_direct_stack_sizes(dataset, name, settings)
                for where, stack in used:
                    if stack not in config["stacks"].get(where, {}):
                        raise InputError(
                            f"{self.source}: variants.{dataset}.{name} uses stacks.{where}.{stack}, which is not "
                            f"declared; declared: {sorted(config['stacks'].get(where, {}))}"
                        )
        compared = {(c.dataset, c.variant) for claim in CLAIMS for x in claim.comparisons for c in x.cells()}
        compared |= self._defocusnet_beside_ablations()
        for dataset, names in config.get("seed_runs", {}).get("variants", {}).items():
            for name in names:
                if name not in config["variants"].get(dataset, {}):
                    raise InputError(
                        f"{self.source}: seed_runs.variants.{dataset} names {name}, which is not a variant of "
                        f"variants.{dataset}; declared: {sorted(config['variants'].get(dataset, {}))}"
                    )
                if "official" in config["variants"][dataset][name].get("model", {}):
                    raise InputError(
                        f"{self.source}: seed_runs.variants.{dataset} names {name}, whose weights are the authors' "
                        "checkpoint: there is no training to seed; drop it from seed_runs"
                    )
                if (dataset, name) not in compared:
                    raise InputError(
                        f"{self.source}: seed_runs.variants.{dataset} names {name}, which no claim or check compares: its "
                        "seed runs would widen no interval of the claims report; drop it from seed_runs"
                    )

    def _defocusnet_beside_ablations(self) -> set[tuple[str, str]]:
        """The DefocusNet variants that the report's checks compare with an ablation (2D, or no
        attention) evaluated on one of their test stacks."""
        found = set()
        for dataset, variants in self.config["variants"].items():
            models = {
                name: self.variant_settings(dataset, name).model.to_dict()
                for name, entry in variants.items()
                if "train" in entry
            }
            ablation_tests = {
                test for name, model in models.items() if is_ablation(model) for test in variants[name]["test"]
            }
            found |= {
                (dataset, name)
                for name, model in models.items()
                if model["architecture"] == "defocusnet" and ablation_tests & set(variants[name]["test"])
            }
        return found

    def _declared_slices(self, dataset: str, stack: str) -> int | None:
        entry = self.config["stacks"].get(dataset, {}).get(stack, {})
        return len(entry["indices"]) if "indices" in entry else entry.get("slices")

    def _check_direct_stack_sizes(self, dataset: str, name: str, settings: VariantSettings) -> None:
        """A model without attention reads only its training batches' stack size: a test stack of
        another declared size fails here, before anything trains."""
        train = self.variant(dataset, name)["train"]
        trained = self._declared_slices(train.get("dataset", dataset), train["stacks"])
        if settings.training.regime == "indices":
            trained = len(settings.training.indices)
        trained = settings.model.stack_size or trained
        for test in self.variant(dataset, name)["test"]:
            tested = self._declared_slices(dataset, test)
            if None not in (trained, tested) and tested != trained:
                raise InputError(
                    f"{self.source}: variants.{dataset}.{name} has no attention, so it reads stacks of {trained} "
                    f"slices, but its test stacks.{dataset}.{test} has {tested}; test it on {trained}-slice stacks"
                )

    def missing(self, cell: Cell) -> str | None:
        """Why the config cannot fill a table cell or figure panel, or None if it can."""
        entry = self.config["variants"].get(cell.dataset, {}).get(cell.variant)
        if entry is None:
            return f"variants.{cell.dataset}.{cell.variant} is not declared"
        tests = entry["test"]
        testset = cell.testset.removeprefix("{scene}_")  # per-scene figures name one stack per scene
        if testset not in tests:
            return f"variants.{cell.dataset}.{cell.variant}.test has no {testset} (it has {', '.join(tests)})"
        return None

    def _with_declared_rows(self, table):
        """The table with each optional row whose cells the config declares."""
        declared = [labels[0] for labels, cells in table.optional_rows if not any(map(self.missing, cells))]
        return table.including(declared)

    def _fills(self, what: str, cells) -> bool:
        for cell in cells:
            reason = self.missing(cell)
            if reason:
                self.notes.append(
                    f"{what} left out of `all`: its cell {cell.dataset}/{cell.variant}/{cell.testset}: {reason}"
                )
                return False
        return True

    # --- data -----------------------------------------------------------------------------

    @property
    def datasets(self) -> list[str]:
        return list(self.config["datasets"])

    def datasets_from(self, source: str) -> str:
        """A wildcard pattern matching the datasets of one source (one that matches nothing if none)."""
        names = [name for name, settings in self.config["datasets"].items() if settings["source"] == source]
        return "|".join(names) if names else "(?!)"

    @staticmethod
    def dataset_root(dataset: str) -> str:
        return f"resources/{dataset}"

    @staticmethod
    def downloaded_files(dataset: str) -> list[str]:
        return [f"resources/downloads/{dataset}/{remote.name}" for remote in SPECS[dataset].published.files]

    def mirror_option(self, dataset: str) -> str:
        return shell_option("--mirror", self.config["datasets"][dataset].get("mirror"))

    def manual_path(self, dataset: str) -> str:
        return self.config["datasets"][dataset]["path"]

    def synthesize_arguments(self, dataset: str) -> str:
        settings = self.config["datasets"][dataset]
        args = [f"--seed {settings.get('seed', 0)}"]
        if "scenes" in settings:
            args.append(f"--scenes {settings['scenes']}")
        if "size" in settings:
            args.append("--size {} {}".format(*settings["size"]))
        if settings.get("heldout"):
            args.append(f"--heldout {settings['heldout']}")
        return " ".join(args)

    # --- stacks ---------------------------------------------------------------------------

    @staticmethod
    def per_scene(dataset: str) -> bool:
        """Scenes that differ in size and slice count (Mobile Depth): one stack file per scene."""
        return SPECS[dataset].per_scene_stacks

    def scenes(self, dataset: str) -> list[str]:
        settings = self.config["datasets"][dataset]
        return SPECS[dataset].scenes(settings["source"], settings.get("scenes"))

    def stack_names(self, dataset: str) -> list[str]:
        names = list(self.config["stacks"].get(dataset, {}))
        if self.per_scene(dataset):
            return [f"{scene}_{name}" for scene in self.scenes(dataset) for name in names]
        return names

    def stack_files(self) -> list[str]:
        return [f"results/stacks/{d}/{name}.h5" for d in self.config["stacks"] for name in self.stack_names(d)]

    def stack_layout(self, dataset: str, name: str) -> tuple[dict, str | None]:
        """The config entry of a stack file, plus the scene it covers (per-scene datasets)."""
        scene = None
        if self.per_scene(dataset):
            scene, name = name.split("_", 1)
        layout = self.config["stacks"].get(dataset, {}).get(name)
        if layout is None:
            declared = sorted(self.config["stacks"].get(dataset, {}))
            raise InputError(f"{self.source}: no stacks.{dataset}.{name} entry; declared: {declared}")
        return layout, scene

    def stack_arguments(self, dataset: str, name: str) -> str:
        """CLI options of `aifdepth stacks` for one stack file."""
        layout, scene = self.stack_layout(dataset, name)
        source = "synthetic" if self.config["datasets"][dataset]["source"] == "synthetic" else "real"
        args = [f"--split {layout['split']}", f"--source {source}", f"--seed {layout.get('seed', 0)}"]
        for key in ("slices", "random_count", "frames", "align"):
            if key in layout:
                args.append(f"--{key.replace('_', '-')} {layout[key]}")
        for key in ("focus_range", "indices", "aperture"):
            if key in layout:
                values = layout[key] if isinstance(layout[key], list) else [layout[key]]
                args.append(f"--{key.replace('_', '-')} " + " ".join(map(str, values)))
        if scene is not None:
            args.append(f"--names {scene}")
        return " ".join(args)

    # --- training -------------------------------------------------------------------------

    def variant(self, dataset: str, name: str) -> dict:
        """The config entry of a variant; `name.seedN` is the same variant trained with seed N."""
        base, seed = split_seed(name)
        entry = self.config["variants"][dataset][base]
        return entry if seed is None else {**entry, "train": {**entry["train"], "seed": seed}}

    def variant_settings(self, dataset: str, name: str) -> VariantSettings:
        """The variant's model, training and loss settings over the config's defaults (`model:`,
        `training:`), checked: an unknown key or bad value names the variant."""
        entry = self.variant(dataset, name)
        train = {**self.config["training"], **entry["train"]}
        values = {
            "model": {**self.config.get("model", {}), **entry["model"]},
            "train": {k: v for k, v in train.items() if k not in WORKFLOW_KEYS},
            "loss": entry.get("loss", {}),
        }
        return VariantSettings.from_dict(values, where=f"{self.source}: variants.{dataset}.{name}")

    def train_settings_json(self, dataset: str, name: str) -> str:
        return self.variant_settings(dataset, name).to_json()

    def train_priority(self, dataset: str, name: str) -> int:
        """Longest trainings first (by steps): a long one started last would run alone at the end
        with the other cores idle (measured: the 760-step sup_3d_noatt, 2 minutes on one core).
        The classical baseline learns nothing, so its job is instant and goes before all: last, it
        had waited behind every training, and its timed evaluations and the tables behind it."""
        settings = self.variant_settings(dataset, name)
        return settings.training.steps if settings.model.learns else FIRST_PRIORITY

    def train_stack_file(self, dataset: str, name: str) -> str:
        train = {**self.config["training"], **self.variant(dataset, name)["train"]}
        return f"results/stacks/{train.get('dataset', dataset)}/{train['stacks']}.h5"

    def rule_resource(self, rule: str, key: str):
        """A rule's resource from `resources:` in the config, else the CPU default."""
        return self.config.get("resources", {}).get(rule, {}).get(key, RULE_RESOURCES[rule][key])

    def model_file(self, dataset: str, name: str) -> str:
        """The model a variant evaluates: its own, that of the variant its `model_from` names, or
        the authors' checkpoint its `model.official` names, imported."""
        base, _ = split_seed(name)
        entry = self.config["variants"][dataset][base]
        if "official" in entry.get("model", {}):
            return self.checkpoint_model_file(entry["model"]["official"])
        source = entry.get("model_from")
        return f"results/models/{source if source else f'{dataset}/{name}'}/model.pt"

    def model_files(self) -> list[str]:
        """Every model a variant evaluates: trained, or imported from the authors' checkpoints."""
        files = [self.model_file(d, v) for d, variants in self.config["variants"].items() for v in variants]
        return list(dict.fromkeys(files))

    # --- the authors' checkpoints ---------------------------------------------------------

    @staticmethod
    def checkpoint_model_file(checkpoint: str) -> str:
        return f"results/checkpoints/{checkpoint}/model.pt"

    def checkpoint_input(self, checkpoint: str) -> str:
        """What `aifdepth import-official` reads: the downloaded ckpt.zip, or the file under the
        folder of `source: manual`."""
        settings = self.config["checkpoints"]
        member = settings["files"][checkpoint]
        if settings["source"] == "manual":
            return str(Path(settings["path"]) / member)
        return CHECKPOINT_ARCHIVE

    def checkpoint_member_option(self, checkpoint: str) -> str:
        settings = self.config["checkpoints"]
        return shell_option("--member", settings["files"][checkpoint] if settings["source"] == "download" else None)

    def checkpoint_mirror_option(self) -> str:
        return shell_option("--mirror", self.config.get("checkpoints", {}).get("mirror"))

    # --- evaluation -----------------------------------------------------------------------

    def test_stack_names(self, dataset: str, name: str) -> list[str]:
        """A variant's test stacks as stack file names (per-scene datasets: one per scene)."""
        tests = self.variant(dataset, name)["test"]
        if self.per_scene(dataset):
            return [f"{scene}_{test}" for test in tests for scene in self.scenes(dataset)]
        return list(tests)

    def evaluated_variants(self) -> list[tuple[str, str]]:
        """(dataset, variant) of every evaluation job: each variant, and each seed run of `seed_runs:`."""
        variants = [(d, v) for d, names in self.config["variants"].items() for v in names]
        runs = self.config.get("seed_runs", {})
        seeds = [f"{SEED_MARK}{seed}" for seed in runs.get("seeds", [])]
        return variants + [(d, v + s) for d, names in runs.get("variants", {}).items() for v in names for s in seeds]

    def evaluation_job(self, dataset: str, name: str) -> dict:
        """One job per variant: its model loads once and evaluates every test stack (the rule,
        its inputs and its outputs, one per test stack, so each file stays a target)."""
        tests = self.test_stack_names(dataset, name)
        stacks = {test: f"results/stacks/{dataset}/{test}.h5" for test in tests}
        timed = [stacks[test] for test in self.timed_tests(dataset, name)]
        return {
            "name": "evaluate_" + re.sub(r"\W", "_", f"{dataset}_{name}"),
            "model": self.model_file(dataset, name),
            "stacks": list(stacks.values()),
            "timing": "--timed " + " ".join(timed) if timed else "",
            "metrics": [f"results/eval/{dataset}/{name}/{test}.json" for test in tests],
            "predictions": [f"results/eval/{dataset}/{name}/{test}.h5" for test in tests],
            "log": f"results/logs/evaluate/{dataset}/{name}.log",
            "benchmark": f"results/benchmarks/evaluate/{dataset}/{name}.tsv",
        }

    def timed_tests(self, dataset: str, name: str) -> list[str]:
        """A variant's test stacks whose runtime a table shows (and the claims compare): the
        evaluation times them again with the machine to itself."""
        base, _ = split_seed(name)
        shown = {
            cell.testset
            for table in self.tables.values()
            if "seconds" in table.metrics
            for cell in table.cells()
            if (cell.dataset, cell.variant) == (dataset, base)
        }
        return [test for test in self.test_stack_names(dataset, name) if test in shown]

    def evaluation_files(self) -> list[str]:
        return [
            f"results/eval/{d}/{v}/{t}.json"
            for d, variants in self.config["variants"].items()
            for v in variants
            for t in self.test_stack_names(d, v)
        ]

    def seed_run_files(self) -> list[str]:
        """Evaluations of `seed_runs:` on each of the variant's test stacks, seed 0 (the main run) included."""
        runs = self.config.get("seed_runs", {})
        files = []
        for dataset, names in runs.get("variants", {}).items():
            for name in names:
                for test in self.variant(dataset, name)["test"]:
                    files.append(f"results/eval/{dataset}/{name}/{test}.json")
                    files += [f"results/eval/{dataset}/{name}{SEED_MARK}{seed}/{test}.json" for seed in runs["seeds"]]
        return files

    def seed_claims_files(self) -> list[str]:
        """Every evaluation of the main run, and the seed runs: the claims report over seeds."""
        return sorted(set(self.evaluation_files()) | set(self.seed_run_files()))

    # --- report ---------------------------------------------------------------------------

    def _table(self, name: str):
        if name not in self.tables:
            raise InputError(f"table {name}: " + next(n for n in self.notes if n.startswith(f"table {name} ")))
        return self.tables[name]

    def _figure(self, name: str):
        if name not in self.figures:
            raise InputError(f"figure {name}: " + next(n for n in self.notes if n.startswith(f"figure {name} ")))
        return self.figures[name]

    def table_evaluations(self, name: str) -> list[str]:
        return sorted({cell.evaluation() for cell in self._table(name).cells()})

    def table_rows_option(self, name: str) -> str:
        """`aifdepth table --with-rows`: the optional rows the config declares, quoted for the shell."""
        shown = self._table(name).rows[len(TABLES[name].rows) :]
        return shell_option("--with-rows", *(labels[0] for labels, _ in shown))

    def figure_scenes(self, name: str) -> list[str]:
        """The scenes a per-scene figure (Mobile Depth) shows, one row each."""
        figure = self._figure(name)
        return self.scenes(figure.panels[0].cell.dataset)[: figure.samples] if figure.per_scene else []

    def figure_inputs(self, name: str) -> list[str]:
        figure = self._figure(name)
        panels = figure.panels
        if figure.per_scene:
            panels = [panel.for_scene(scene) for scene in self.figure_scenes(name) for panel in panels]
        return sorted({c.predictions() for p in panels for c in p.cells()} | {p.cell.stacks() for p in panels})

    def figure_scene_option(self, name: str) -> str:
        scenes = self.figure_scenes(name)
        return "--scenes " + " ".join(scenes) if scenes else ""

    def data_note(self, cells) -> str:
        """Which data the cells' numbers come from: real, or the embedded synthetic stand-ins."""
        parts = []
        for dataset in dict.fromkeys(cell.dataset for cell in cells):
            synthetic = self.config["datasets"][dataset]["source"] == "synthetic"
            parts.append(f"the synthetic stand-in in the {dataset} format" if synthetic else f"the real {dataset} data")
        return "; ".join(parts)

    def table_caption(self, name: str) -> str:
        table = self._table(name)
        return f"{table.title}. Numbers from {self.data_note(table.cells())}."

    def figure_caption(self, name: str) -> str:
        figure = self._figure(name)
        return f"{figure.title}. Images from {self.data_note([panel.cell for panel in figure.panels])}."

    def table_report_labels(self, name: str) -> dict:
        """The table's row in the HTML report: its name and what it shows."""
        return {"table": name, "shows": self._table(name).title}

    def figure_report_labels(self, name: str) -> dict:
        """The figure's row in the HTML report, numbered with two digits: the report sorts labels
        as text, and figure10 sorted before figure2 by its file name."""
        return {"figure": f"{int(name.removeprefix('figure')):02d}", "shows": self._figure(name).title}

    def claims_tables(self) -> list[str]:
        return sorted({f"results/tables/{name}.csv" for claim in self.claims for name in claim.tables})

    def report_files(self) -> list[str]:
        figures = [f"results/figures/{name}.{ext}" for name in self.figures for ext in ("pdf", "png")]
        tables = [f"results/tables/{name}.{ext}" for name in self.tables for ext in ("tex", "csv", "html")]
        claims = [
            "results/claims.md",
            "results/claims.html",
            "results/figures/claims.pdf",
            "results/figures/claims.png",
        ]
        return tables + figures + claims
