"""Stage 3 and 4 subcommands: train a variant, evaluate a model, predict depth of your own stack.
The options of `train` are the knobs of `aifdepth.settings`, one per field."""

import argparse
import contextlib
import json
import logging
from pathlib import Path

from ..errors import InputError
from ..parallel import all_cpu_slots, cpu_slot
from ..settings import SECTIONS, TIMING_REPEATS, VariantSettings, knob_kind, knobs

log = logging.getLogger("aifdepth")


def cpu_slot_on(device: str):
    """The CPU-heavy commands compute only while holding a CPU slot (`parallel.cpu_slot`) when
    they run on the CPU; on a GPU the slots would only hold them back."""
    return cpu_slot() if device == "cpu" else contextlib.nullcontext()


def all_cpu_slots_on(device: str):
    """Runtimes are timed holding every CPU slot on the CPU (`parallel.all_cpu_slots`); a GPU
    synchronises instead."""
    return all_cpu_slots() if device == "cpu" else contextlib.nullcontext()


def read_settings(text: str) -> dict:
    """`--settings`: the JSON itself (what the workflow passes) or a file holding it."""
    source = text if text.lstrip().startswith("{") else Path(text).read_text()
    try:
        return json.loads(source)
    except json.JSONDecodeError as err:
        raise InputError(f"--settings: not valid JSON ({err})") from err


def variant_settings(args) -> VariantSettings:
    """--settings first, then each knob option given on the command line over it."""
    values = read_settings(args.settings) if args.settings else {}
    for section_name, section in SECTIONS.items():
        given = {f.name: getattr(args, f.name) for f in knobs(section) if getattr(args, f.name) is not None}
        values[section_name] = {**values.get(section_name, {}), **given}
    return VariantSettings.from_dict(values, where="aifdepth train")


def train(args) -> None:
    from ..devices import pick_device
    from ..train import train

    settings = variant_settings(args)
    device = pick_device(args.device)
    with cpu_slot_on(device) if settings.model.learns else contextlib.nullcontext():  # the baseline's is instant
        train(
            settings.model,
            args.stacks,
            args.out,
            args.log,
            settings.training,
            info={"variant": args.out.parent.name},
            device=device,
        )
    log.info("trained %s", args.out)


def evaluate(args) -> None:
    from ..devices import pick_device
    from ..evaluate import evaluate_all

    device = pick_device(args.device)
    results = evaluate_all(
        args.model,
        args.stacks,
        args.out,
        args.predictions,
        device=device,
        metric_dataset=args.mask,
        timed=args.timed or (),
        repeats=args.timing_repeats,
        compute_lock=lambda: cpu_slot_on(device),
        timing_lock=lambda: all_cpu_slots_on(device),
    )
    for result in results:
        metrics = result["metrics"]
        log.info(
            "%s on %s: MAE %.4f MSE %.4f RMSE %.4f, %.4f s/stack",
            args.model,
            result["stacks"],
            metrics["mae"],
            metrics["mse"],
            metrics["rmse"],
            result["runtime"]["seconds_per_stack"],
        )


def predict(args) -> None:
    from ..predict import predict_images, predict_stack_file

    if (args.stack is None) == (not args.images):
        raise InputError("give either --stack STACK.h5 or the images of one focal stack (with --focus)")
    if args.stack is not None:
        predict_stack_file(args.model, args.stack, args.out, device=args.device)
    else:
        predict_images(
            args.model,
            args.images,
            args.focus or [],
            args.out,
            device=args.device,
            focus_file=args.focus_file,
            align=args.align,
        )
    log.info("wrote predictions to %s", args.out)


def import_official(args) -> None:
    from ..official import describe, import_official

    recognised = import_official(args.checkpoint, args.out, member=args.member)
    print(describe(recognised))
    log.info("wrote %s", args.out)


def download_checkpoints(args) -> None:
    from ..official import download_archive

    download_archive(args.out, args.checksums, mirror=args.mirror)
    log.info("fetched %s", args.out)


def add_knob_options(parser: argparse.ArgumentParser) -> None:
    """One option per knob, its type, choices and help from the field; unset means the default."""
    for section_name, section in SECTIONS.items():
        group = parser.add_argument_group(f"{section_name} settings (config.yaml: a variant's {section_name}:)")
        for f in knobs(section):
            element, is_list = knob_kind(f)
            option = {"help": f"{f.metadata['help']} (default: {f.default})", "default": None}
            if element is bool:
                option["action"] = argparse.BooleanOptionalAction
            else:
                option.update(type=element, choices=f.metadata["choices"], nargs="+" if is_list else None)
            group.add_argument(f"--{f.name.replace('_', '-')}", **option)


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("train", help="train one model variant on a stack file")
    p.add_argument("stacks", type=Path, help="training stack file")
    p.add_argument("--out", type=Path, required=True, help="model file to write (model.pt)")
    p.add_argument("--log", type=Path, required=True, help="training log CSV")
    p.add_argument(
        "--settings",
        help='all settings as JSON ({"model": {...}, "train": {...}, "loss": {...}}) or a file holding it; '
        "the options below override it",
    )
    p.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    add_knob_options(p)
    p.set_defaults(func=train)

    p = commands.add_parser("evaluate", help="metrics, runtime and AiF quality of a model on stack files")
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--stacks", type=Path, nargs="+", required=True, help="stack files, the model loaded once")
    p.add_argument("--out", type=Path, nargs="+", required=True, help="evaluation JSON, one per stack file")
    p.add_argument("--predictions", type=Path, nargs="+", help="h5 files for the predicted depth and AiF, one each")
    p.add_argument("--mask", help="dataset whose GT mask applies (default: the stack file's dataset)")
    p.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    p.add_argument(
        "--timed",
        type=Path,
        nargs="+",
        help="stack files (of --stacks) whose runtime is timed again with the machine to itself: on the CPU "
        "holding every CPU slot, so no other aifdepth job computes meanwhile",
    )
    p.add_argument(
        "--timing-repeats",
        type=int,
        default=TIMING_REPEATS,
        help=f"timings per image of a --timed stack file, after a warm-up; the median counts (default: {TIMING_REPEATS})",
    )
    p.set_defaults(func=evaluate)

    p = commands.add_parser("predict", help="depth (and AiF) of your own focal stack")
    p.add_argument("images", nargs="*", type=Path, help="the images of one focal stack, in stack order")
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--stack", type=Path, help="a unified stack file instead of images")
    p.add_argument("--focus", type=float, nargs="+", help="focus position of each image, in the model's unit")
    p.add_argument(
        "--focus-file",
        type=Path,
        help="focus positions, one per line in the first column (e.g. Mobile Depth's calibrated.txt)",
    )
    p.add_argument(
        "--align",
        choices=["affine", "homography"],
        help="align the images to the first before predicting (focus breathing, camera motion)",
    )
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    p.set_defaults(func=predict)

    p = commands.add_parser(
        "import-official", help="an official AiFDepthNet checkpoint (the authors' .pth) as an aifdepth model file"
    )
    p.add_argument("checkpoint", type=Path, help="the official .pth file, or the authors' ckpt.zip with --member")
    p.add_argument("--member", help="the checkpoint's path inside the zip archive CHECKPOINT")
    p.add_argument("--out", type=Path, required=True, help="model file to write (model.pt)")
    p.set_defaults(func=import_official)

    p = commands.add_parser(
        "download-checkpoints",
        help="fetch the authors' ckpt.zip, every released checkpoint (resumable, SHA-256 checked)",
    )
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--checksums", type=Path, required=True, help="sha256sum-style file; unknown files are recorded")
    p.add_argument("--mirror", help="URL of a folder holding ckpt.zip, instead of its Google Drive home")
    p.set_defaults(func=download_checkpoints)
