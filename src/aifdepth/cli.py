"""The `aifdepth` command: the one entry point the Snakemake rules call."""

import argparse
import contextlib
import logging
import sys
from pathlib import Path

import numpy as np

from .errors import InputError, TrainingError
from .layouts import focus_positions
from .parallel import cpu_slot, set_threads

log = logging.getLogger("aifdepth")


def cmd_synthesize(args) -> None:
    from .synthesize import synthesize

    synthesize(args.dataset, args.out_dir, scenes=args.scenes, size=args.size, seed=args.seed, heldout=args.heldout)
    log.info("wrote synthetic %s to %s", args.dataset, args.out_dir)


def cmd_download(args) -> None:
    from .sources import download

    download(args.dataset, args.name, args.out, args.checksums, mirror=args.mirror)
    log.info("fetched %s", args.out)


def cmd_unpack(args) -> None:
    from .sources import unpack

    unpack(args.dataset, args.files, args.out)
    log.info("unpacked %s into %s", args.dataset, args.out)


def cmd_link(args) -> None:
    from .sources import link_manual

    link_manual(args.dataset, args.path, args.out)
    log.info("linked %s from %s into %s", args.dataset, args.path, args.out)


def cmd_align(args) -> None:
    import json

    from .align import align_stack
    from .io.atomic import atomic_path
    from .io.images import read_rgb, write_rgb

    images = [read_rgb(path) for path in args.images]
    alignment = align_stack(images, reference=args.reference, motion=args.motion)
    args.out.mkdir(parents=True, exist_ok=True)
    outputs = [args.out / f"{k:02d}_{path.stem}.png" for k, path in enumerate(args.images)]
    for path, image in zip(outputs, alignment.images):
        write_rgb(path, image)
    record = {
        "reference": args.reference,
        "motion": args.motion,
        "note": "each matrix maps reference-slice pixels to the input slice's pixels",
        "slices": [
            {"input": str(path), "output": str(out), "transform": transform.tolist()}
            for path, out, transform in zip(args.images, outputs, alignment.transforms)
        ],
        "warnings": alignment.warnings,
    }
    with atomic_path(args.out / "transforms.json") as tmp:
        tmp.write_text(json.dumps(record, indent=1))
    log.info(
        "aligned %d slices to slice %d into %s (%d warning(s))",
        len(images),
        args.reference,
        args.out,
        len(alignment.warnings),
    )


def cmd_refocus(args) -> None:
    from .datasets.hci import read_parameters, read_scene
    from .io.images import to_uint8
    from .render.refocus import refocus
    from .stackfile import FocalStacks, write_stacks

    disparities = focus_positions(args.disparities, "--disparities").tolist()
    sample = read_scene(args.scene_dir)
    synthetic = read_parameters(Path(args.scene_dir) / "parameters.cfg").get("meta", "synthetic", fallback="false")
    stack = to_uint8(refocus(sample.views, disparities))
    write_stacks(
        args.out,
        FocalStacks(
            stack=stack[None],
            focus=np.asarray([disparities], np.float32),
            depth=sample.depth[None],
            aif=sample.aif[None],
            names=[sample.name],
            dataset="hci",
            unit="disparity",
            source="synthetic" if synthetic == "true" else "real",
            params={"renderer": "refocus", "disparities": disparities, "scene_dir": str(args.scene_dir)},
        ),
    )
    log.info("refocused %s at %d disparities into %s", args.scene_dir, len(disparities), args.out)


def cmd_defocus(args) -> None:
    from .io.images import read_rgb
    from .io.pfm import read_pfm
    from .stackfile import write_stacks
    from .stacks import defocused_image

    focus = focus_positions(args.focus, "--focus").tolist()
    disparity = read_pfm(args.disparity)
    image = read_rgb(args.image)
    if image.shape[:2] != disparity.shape:
        raise InputError(
            f"{args.image}: image is {image.shape[1]}x{image.shape[0]} (WxH) but "
            f"{args.disparity} is {disparity.shape[1]}x{disparity.shape[0]}; they must match"
        )
    if not np.isfinite(args.aperture) or args.aperture < 0:
        raise InputError(f"--aperture must be a finite number >= 0, got {args.aperture}")
    write_stacks(
        args.out,
        defocused_image(
            image,
            disparity,
            focus,
            args.aperture,
            name=Path(args.image).parent.name or Path(args.image).stem,
            dataset=args.dataset,
            source=args.source,
            params={"image": str(args.image), "disparity": str(args.disparity)},
        ),
    )
    log.info("rendered %d defocus slices of %s into %s", len(focus), args.image, args.out)


def cmd_stacks(args) -> None:
    from .datasets import open_dataset
    from .stackfile import write_stacks
    from .stacks import build_stacks

    options = {"frames": args.frames} if args.frames else {}
    dataset = open_dataset(args.dataset, args.root, **options)
    aperture = None if args.aperture is None else (args.aperture[0] if len(args.aperture) == 1 else args.aperture)
    stacks = build_stacks(
        dataset,
        args.split,
        source=args.source,
        focus_range=args.focus_range,
        slices=args.slices,
        indices=args.indices,
        random_count=args.random_count,
        aperture=aperture,
        seed=args.seed,
        names=args.names,
        align=args.align,
    )
    write_stacks(args.out, stacks)
    log.info(
        "wrote %d %s/%s stacks of %d slices to %s",
        len(stacks),
        args.dataset,
        args.split,
        stacks.stack.shape[1],
        args.out,
    )


def cmd_train(args) -> None:
    from .batches import StackRegime
    from .devices import pick_device
    from .models import ModelConfig
    from .train import TrainSettings, train

    config = ModelConfig(
        architecture=args.architecture,
        conv=args.conv,
        width=args.width,
        attention=args.attention,
        attention_mode=args.attention_mode,
        depth_normalisation=args.depth_normalisation,
        focus_input=args.focus_input,
    )
    regime = StackRegime(args.regime, min_slices=args.min_slices, indices=tuple(args.indices) if args.indices else None)
    settings = TrainSettings(
        steps=args.steps,
        batch_size=args.batch_size,
        crop=args.crop,
        learning_rate=args.learning_rate,
        schedule=args.schedule,
        warmup_steps=args.warmup_steps,
        precision=args.precision,
        seed=args.seed,
        checkpoint_every=args.checkpoint_every,
        regime=regime,
        loss_weights={"supervised": args.supervised, "unsupervised": args.unsupervised, "smoothness": args.smoothness},
    )
    device = pick_device(args.device)
    with cpu_slot_on(device):
        train(config, args.stacks, args.out, args.log, settings, info={"variant": args.out.parent.name}, device=device)
    log.info("trained %s", args.out)


def cmd_evaluate(args) -> None:
    from .devices import pick_device
    from .evaluate import evaluate

    device = pick_device(args.device)
    with cpu_slot_on(device):  # also keeps other jobs' processes off the cores it times
        result = evaluate(args.model, args.stacks, args.out, args.predictions, device=device, metric_dataset=args.mask)
    metrics = result["metrics"]
    log.info(
        "%s on %s: MAE %.4f MSE %.4f RMSE %.4f, %.4f s/stack",
        args.model,
        args.stacks,
        metrics["mae"],
        metrics["mse"],
        metrics["rmse"],
        result["runtime"]["seconds_per_stack"],
    )


def cpu_slot_on(device: str):
    """The CPU-heavy commands compute only while holding a CPU slot (`parallel.cpu_slot`) when
    they run on the CPU; on a GPU the slots would only hold them back."""
    return cpu_slot() if device == "cpu" else contextlib.nullcontext()


def cmd_table(args) -> None:
    from .report.tables import write_table

    write_table(args.name, args.evaluations, args.tex, args.csv)
    log.info("wrote %s and %s", args.tex, args.csv)


def cmd_figure(args) -> None:
    from .report.figures import write_figure

    write_figure(args.name, args.evaluations, args.stacks, args.pdf, args.png, scenes=args.scenes)
    log.info("wrote %s and %s", args.pdf, args.png)


def cmd_claims(args) -> None:
    from .report.claims import write_claims

    verdicts = write_claims(args.tables, args.evaluations, args.out)
    log.info("wrote %s: %d of %d claims hold", args.out, sum(h for _, h in verdicts), len(verdicts))


def cmd_seeds(args) -> None:
    from .report.seeds import write_seed_report

    verdicts = write_seed_report(args.evaluations, args.out)
    log.info("wrote %s: %s", args.out, {claim: f"{sum(v)}/{len(v)} seeds" for claim, v in verdicts.items()})


def cmd_predict(args) -> None:
    from .predict import predict_images, predict_stack_file

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aifdepth", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--threads", type=int, help="threads this process may use (default: all cores)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("synthesize", help="write an embedded synthetic dataset in its real on-disk format")
    p.add_argument("dataset", choices=["hci", "ddff", "defocusnet", "middlebury", "mobiledepth", "rgbd"])
    p.add_argument("out_dir", type=Path)
    p.add_argument("--scenes", type=int, help="number of scenes (stacks); default depends on the dataset")
    p.add_argument("--size", type=int, nargs=2, metavar=("HEIGHT", "WIDTH"), help="image size in pixels")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--heldout", type=int, default=0, help="hci: extra scenes of the 'heldout' split, never trained on")
    p.set_defaults(func=cmd_synthesize)

    real_datasets = ["hci", "ddff", "defocusnet", "middlebury", "mobiledepth"]
    p = sub.add_parser("download", help="fetch one published file of a dataset (resumable, SHA-256 checked)")
    p.add_argument("dataset", choices=real_datasets)
    p.add_argument("name", help="published file name, e.g. ddff-dataset-trainval.h5")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--checksums", type=Path, required=True, help="sha256sum-style file; unknown files are recorded")
    p.add_argument("--mirror", help="URL of a folder holding the published files, instead of their home")
    p.set_defaults(func=cmd_download)

    p = sub.add_parser("unpack", help="lay downloaded files out as the dataset folder the readers expect")
    p.add_argument("dataset", choices=real_datasets)
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(func=cmd_unpack)

    p = sub.add_parser("link", help="validate a dataset folder you already have and link it in (no copy)")
    p.add_argument("dataset", choices=real_datasets)
    p.add_argument("path", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(func=cmd_link)

    p = sub.add_parser("align", help="align the slices of a focal stack to one of them (breathing, camera motion)")
    p.add_argument("images", nargs="+", type=Path, help="the slices, in stack order")
    p.add_argument("--out", type=Path, required=True, help="folder for the aligned slices and transforms.json")
    p.add_argument("--reference", type=int, default=0, help="0-based index of the slice the others are aligned to")
    p.add_argument("--motion", choices=["affine", "homography"], default="affine")
    p.set_defaults(func=cmd_align)

    p = sub.add_parser("refocus", help="shift-and-add refocus of an HCI-format light-field scene")
    p.add_argument("scene_dir", type=Path)
    p.add_argument("--disparities", type=float, nargs="*", required=True)
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(func=cmd_refocus)

    p = sub.add_parser("defocus", help="layered, occlusion-aware defocus of an RGB + disparity pair")
    p.add_argument("--image", type=Path, required=True)
    p.add_argument("--disparity", type=Path, required=True, help="PFM; inf/NaN = unknown")
    p.add_argument("--focus", type=float, nargs="*", required=True, help="focus disparities")
    p.add_argument("--aperture", type=float, required=True, help="blur radius in px per unit of disparity")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--dataset", default="middlebury", help="dataset name stored in the stack file")
    p.add_argument("--source", choices=["real", "synthetic"], default="real")
    p.set_defaults(func=cmd_defocus)

    p = sub.add_parser("stacks", help="convert/render a dataset split into the unified stack file")
    p.add_argument("dataset", choices=["hci", "ddff", "defocusnet", "middlebury", "mobiledepth", "rgbd"])
    p.add_argument("root", type=Path, help="dataset folder in its real layout")
    p.add_argument("--split", required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--source", choices=["real", "synthetic"], required=True)
    p.add_argument("--slices", type=int, help="uniform slice count (rendered datasets)")
    p.add_argument("--focus-range", type=float, nargs=2, metavar=("FIRST", "LAST"))
    p.add_argument("--indices", type=int, nargs="+", help="1-based slices to keep, e.g. 1 3 5 7 9")
    p.add_argument("--random-count", type=int, help="keep a random sorted subset of this size per sample")
    p.add_argument("--aperture", type=float, nargs="+", help="blur px per disparity unit, or LOW HIGH per sample")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--frames", choices=["aligned", "unaligned"], help="mobiledepth frame set")
    p.add_argument("--names", nargs="+", help="only these samples (e.g. one mobiledepth scene)")
    p.add_argument(
        "--align",
        choices=["affine", "homography"],
        help="register each shipped stack's slices to its first (focus breathing, camera motion)",
    )
    p.set_defaults(func=cmd_stacks)

    p = sub.add_parser("train", help="train one model variant on a stack file")
    p.add_argument("stacks", type=Path, help="training stack file")
    p.add_argument("--out", type=Path, required=True, help="model file to write (model.pt)")
    p.add_argument("--log", type=Path, required=True, help="training log CSV")
    p.add_argument("--architecture", choices=["aifdepthnet", "defocusnet", "classical"], default="aifdepthnet")
    p.add_argument("--conv", choices=["3d", "2d"], default="3d")
    p.add_argument("--width", choices=["paper", "compact"], default="compact")
    p.add_argument("--attention", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--attention-mode", choices=["shared", "separate"], default="shared")
    p.add_argument("--depth-normalisation", choices=["softmax", "softplus"], default="softmax")
    p.add_argument(
        "--focus-input",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="give the networks the log of the classical focus measure as one more input channel",
    )
    p.add_argument("--regime", choices=["fixed", "arbitrary", "indices"], default="fixed")
    p.add_argument("--indices", type=int, nargs="+", help="1-based slices for the 'indices' regime")
    p.add_argument("--min-slices", type=int, default=2, help="smallest stack of the 'arbitrary' regime")
    p.add_argument("--supervised", type=float, default=1.0, help="weight of the L1 depth loss")
    p.add_argument("--unsupervised", type=float, default=0.0, help="weight of the L1 AiF loss")
    p.add_argument("--smoothness", type=float, default=0.0, help="weight of the edge-aware smoothness")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--crop", type=int, default=64)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument(
        "--schedule",
        choices=["cosine", "constant"],
        default="cosine",
        help="learning rate over the steps: cosine decay to zero, or constant",
    )
    p.add_argument("--warmup-steps", type=int, default=0, help="linear learning-rate warm-up before the schedule")
    p.add_argument(
        "--precision",
        choices=["fp32", "bf16"],
        default="fp32",
        help="bf16: bfloat16 autocast where the hardware has it natively (else fp32)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint-every", type=int, default=50)
    p.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="metrics, runtime and AiF quality of a model on a stack file")
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--stacks", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True, help="evaluation JSON")
    p.add_argument("--predictions", type=Path, help="h5 file for the predicted depth and AiF")
    p.add_argument("--mask", help="dataset whose GT mask applies (default: the stack file's dataset)")
    p.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="depth (and AiF) of your own focal stack")
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
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("table", help="one of the paper's tables as LaTeX and CSV, from evaluation JSONs")
    p.add_argument("name", help="table1 .. table5, main_table4, main_table5 or aif_quality")
    p.add_argument("--evaluations", type=Path, default=Path("results/eval"), help="folder of the evaluation JSONs")
    p.add_argument("--tex", type=Path, required=True)
    p.add_argument("--csv", type=Path, required=True)
    p.set_defaults(func=cmd_table)

    p = sub.add_parser("figure", help="one of the paper's figures as PDF and PNG, from saved predictions")
    p.add_argument("name", help="figure1 .. figure10")
    p.add_argument("--evaluations", type=Path, default=Path("results/eval"), help="folder of the predictions")
    p.add_argument("--stacks", type=Path, default=Path("results/stacks"), help="folder of the stack files")
    p.add_argument("--pdf", type=Path, required=True)
    p.add_argument("--png", type=Path, required=True)
    p.add_argument("--scenes", nargs="+", help="Mobile Depth figures: the scenes to show, one row each")
    p.set_defaults(func=cmd_figure)

    p = sub.add_parser("claims", help="the claims report: verdicts computed from the tables")
    p.add_argument("--tables", type=Path, required=True, help="folder of the table CSVs")
    p.add_argument("--out", type=Path, required=True, help="markdown report")
    p.add_argument("evaluations", nargs="*", type=Path, help="evaluation JSONs for the package checks")
    p.set_defaults(func=cmd_claims)

    p = sub.add_parser("seeds", help="MAE spread over seeds and the per-seed verdicts of claims C5, C8, C9")
    p.add_argument("--out", type=Path, required=True, help="markdown report")
    p.add_argument("evaluations", nargs="+", type=Path, help="evaluation JSONs of .../{variant}[.seedN]/")
    p.set_defaults(func=cmd_seeds)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    if args.threads is not None:
        set_threads(args.threads)
    try:
        args.func(args)
    except (InputError, TrainingError) as err:
        print(f"aifdepth {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
