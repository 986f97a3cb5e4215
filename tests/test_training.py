"""Training, model files, evaluation and predict, on tiny synthetic stacks."""

import contextlib
import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

import aifdepth.train as training
from aifdepth.cli import main
from aifdepth.datasets import open_dataset
from aifdepth.errors import InputError, TrainingError
from aifdepth.evaluate import evaluate
from aifdepth.modelfile import load_model
from aifdepth.models import ModelConfig
from aifdepth.settings import LossWeights
from aifdepth.stackbuild import build_stacks
from aifdepth.stackfile import read_stacks, write_stacks
from aifdepth.synthesize import synthesize
from aifdepth.train import TrainSettings, train

COMPACT_3D = ModelConfig(architecture="aifdepthnet", conv="3d", width="compact", attention=True)
COMPACT_2D = ModelConfig(architecture="aifdepthnet", conv="2d", width="compact", attention=True)


@pytest.fixture(scope="module")
def hci_stacks(tmp_path_factory):
    root = tmp_path_factory.mktemp("hci")
    synthesize("hci", root / "hci", scenes=6, size=(32, 32), seed=7)
    dataset = open_dataset("hci", root / "hci")
    for split in ("train", "val"):
        write_stacks(
            root / f"{split}.h5", build_stacks(dataset, split, source="synthetic", focus_range=(-2.5, 2.5), slices=10)
        )
    return root


def settings(**overrides):
    base = {"steps": 30, "batch_size": 2, "crop": 32, "learning_rate": 2e-3, "seed": 3, "checkpoint_every": 10}
    return TrainSettings(**{**base, "loss": LossWeights(supervised=1.0), **overrides})


def mae_on(model, stacks):
    with torch.inference_mode():
        stack = torch.from_numpy(stacks.stack).permute(0, 1, 4, 2, 3).float() / 255
        depth = model.eval()(stack, torch.from_numpy(stacks.focus))["depth"].numpy()
    valid = np.isfinite(stacks.depth)
    return float(np.abs(depth - stacks.depth)[valid].mean())


def test_short_training_reduces_loss_and_beats_untrained(hci_stacks, tmp_path):
    model = train(
        COMPACT_3D,
        hci_stacks / "train.h5",
        tmp_path / "m" / "model.pt",
        tmp_path / "m" / "train.csv",
        settings(steps=60),
    )
    with open(tmp_path / "m" / "train.csv") as f:
        losses = [float(row["loss"]) for row in csv.DictReader(f)]
    assert len(losses) == 60
    assert np.mean(losses[-10:]) < 0.8 * np.mean(losses[:10])
    torch.manual_seed(3)
    from aifdepth.models import build_model

    untrained = build_model(COMPACT_3D)
    stacks = read_stacks(hci_stacks / "train.h5")
    assert mae_on(model, stacks) < 0.9 * mae_on(untrained, stacks)


def test_training_is_repeatable_for_a_seed(hci_stacks, tmp_path):
    a = train(
        COMPACT_3D, hci_stacks / "train.h5", tmp_path / "a" / "model.pt", tmp_path / "a" / "log.csv", settings(steps=5)
    )
    b = train(
        COMPACT_3D, hci_stacks / "train.h5", tmp_path / "b" / "model.pt", tmp_path / "b" / "log.csv", settings(steps=5)
    )
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key]), key


def train_command(stacks, out, steps):
    return [
        sys.executable,
        "-m",
        "aifdepth.cli",
        "--threads",
        "1",
        "train",
        str(stacks),
        "--out",
        str(out),
        "--log",
        str(out.with_name("train.csv")),
        "--steps",
        str(steps),
        "--batch-size",
        "2",
        "--crop",
        "32",
        "--checkpoint-every",
        "2",
        "--seed",
        "5",
        "--regime",
        "arbitrary",
        "--supervised",
        "1",
    ]


def test_interrupted_training_resumes_to_the_same_weights(hci_stacks, tmp_path):
    steps = 40
    straight = tmp_path / "straight" / "model.pt"
    subprocess.run(train_command(hci_stacks / "train.h5", straight, steps), check=True, capture_output=True)

    resumed = tmp_path / "resumed" / "model.pt"
    process = subprocess.Popen(
        train_command(hci_stacks / "train.h5", resumed, steps), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    checkpoint = resumed.with_name("model.checkpoint.pt")
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert checkpoint.exists() and not resumed.exists(), "the run was not interrupted mid-way"
    interrupted_at = torch.load(checkpoint, weights_only=True)["step"]
    assert 0 < interrupted_at < steps

    subprocess.run(train_command(hci_stacks / "train.h5", resumed, steps), check=True, capture_output=True)
    a, _, _ = load_model(straight)
    b, _, info = load_model(resumed)
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key]), key
    with open(resumed.with_name("train.csv")) as f:
        assert [int(row["step"]) for row in csv.DictReader(f)] == list(range(1, steps + 1))
    assert not checkpoint.exists() and info["steps"] == steps


def test_nan_loss_stops_and_keeps_last_checkpoint(hci_stacks, tmp_path, monkeypatch):
    real_loss = training.total_loss
    calls = {"n": 0}

    def diverging(outputs, batch, weights):
        calls["n"] += 1
        loss, parts = real_loss(outputs, batch, weights)
        return (loss * float("nan"), parts) if calls["n"] == 14 else (loss, parts)

    monkeypatch.setattr(training, "total_loss", diverging)
    out = tmp_path / "nan" / "model.pt"
    with pytest.raises(TrainingError, match=r"loss became nan at step 14.*model\.checkpoint\.pt.*is kept"):
        train(COMPACT_3D, hci_stacks / "train.h5", out, out.with_name("train.csv"), settings())
    assert torch.load(out.with_name("model.checkpoint.pt"), weights_only=True)["step"] == 10
    assert not out.exists()


def test_an_exploding_update_is_never_kept_as_the_good_checkpoint(hci_stacks, tmp_path):
    """An update whose weights give a NaN loss at the next step is not checkpointed; a rerun with
    a sane learning rate starts afresh (other settings) and trains to the end."""
    out = tmp_path / "boom" / "model.pt"
    checkpoint = out.with_name("model.checkpoint.pt")
    with pytest.raises(TrainingError, match=r"loss became nan at step \d+.*delete .*model\.checkpoint\.pt"):
        train(
            COMPACT_3D,
            hci_stacks / "train.h5",
            out,
            out.with_name("l.csv"),
            settings(learning_rate=1e30, checkpoint_every=1),
        )
    if checkpoint.is_file():
        weights = torch.load(checkpoint, weights_only=True)["model"]
        assert max(float(w.abs().max()) for w in weights.values() if w.is_floating_point()) < 1e6
    train(COMPACT_3D, hci_stacks / "train.h5", out, out.with_name("l.csv"), settings(steps=4))
    assert out.is_file() and not checkpoint.exists()


def test_a_checkpoint_of_other_settings_is_not_resumed(hci_stacks, tmp_path, caplog):
    out = tmp_path / "mix" / "model.pt"
    train(COMPACT_3D, hci_stacks / "train.h5", out, out.with_name("l.csv"), settings(steps=4))
    reference = torch.load(out, weights_only=True)["state_dict"]
    out.unlink()
    fake = {"model": {}, "optimiser": {}, "step": 2, "recipe": "another recipe"}
    torch.save(fake, out.with_name("model.checkpoint.pt"))
    with caplog.at_level("WARNING"):
        train(COMPACT_3D, hci_stacks / "train.h5", out, out.with_name("l.csv"), settings(steps=4))
    assert "written with other settings; starting afresh" in caplog.text
    again = torch.load(out, weights_only=True)["state_dict"]
    assert all(torch.equal(reference[k], again[k]) for k in reference)


def test_unsupervised_needs_aif(tmp_path, hci_stacks):
    stacks = read_stacks(hci_stacks / "train.h5")
    stacks.aif = None
    write_stacks(tmp_path / "no_aif.h5", stacks)
    with pytest.raises(InputError, match="needs GT all-in-focus images"):
        train(
            COMPACT_3D,
            tmp_path / "no_aif.h5",
            tmp_path / "m.pt",
            tmp_path / "log.csv",
            settings(loss=LossWeights(unsupervised=1.0)),
        )


def test_a_direct_model_reads_the_stack_size_it_was_trained_on(hci_stacks, tmp_path):
    """Without attention the head reads a fixed stack: the model file records the training
    batches' size, another size is refused naming the model file and the key, and a regime that
    varies the size is refused before training."""
    direct = ModelConfig(conv="2d", attention=False, focus_input=True)
    train(direct, hci_stacks / "train.h5", tmp_path / "m.pt", tmp_path / "log.csv", settings(steps=2))
    assert load_model(tmp_path / "m.pt")[1].stack_size == 10
    evaluate(tmp_path / "m.pt", hci_stacks / "val.h5", tmp_path / "val.json")
    train(
        direct,
        hci_stacks / "train.h5",
        tmp_path / "m5.pt",
        tmp_path / "log5.csv",
        settings(steps=2, regime="indices", indices=(1, 3, 5, 7, 9)),
    )
    assert load_model(tmp_path / "m5.pt")[1].stack_size == 5
    with pytest.raises(InputError, match=r"m5\.pt: model\.stack_size is 5: .*val\.h5 has 10"):
        evaluate(tmp_path / "m5.pt", hci_stacks / "val.h5", tmp_path / "val5.json")
    with pytest.raises(InputError, match="regime arbitrary varies the stack size"):
        train(direct, hci_stacks / "train.h5", tmp_path / "a.pt", tmp_path / "a.csv", settings(regime="arbitrary"))
    with pytest.raises(InputError, match=r"model\.stack_size is 7 but the training batches have 10"):
        train(
            ModelConfig(conv="2d", attention=False, stack_size=7),
            hci_stacks / "train.h5",
            tmp_path / "b.pt",
            tmp_path / "b.csv",
            settings(),
        )


@pytest.fixture(scope="module")
def trained(hci_stacks, tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "model.pt"
    train(
        COMPACT_3D,
        hci_stacks / "train.h5",
        out,
        out.with_name("train.csv"),
        settings(steps=10, regime="arbitrary"),
    )
    return out


def test_model_file_loads_in_a_fresh_process(trained):
    code = (
        "import sys; from aifdepth.modelfile import load_model; m, c, i = load_model(sys.argv[1]); "
        "print(c.architecture, c.conv, i['unit'], i['dataset'])"
    )
    result = subprocess.run([sys.executable, "-c", code, str(trained)], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["aifdepthnet", "3d", "disparity", "hci"]


def test_evaluate_writes_metrics_runtime_and_predictions(trained, hci_stacks, tmp_path):
    result = evaluate(trained, hci_stacks / "val.h5", tmp_path / "val.json", tmp_path / "val_pred.h5")
    stored = json.loads((tmp_path / "val.json").read_text())
    assert stored["metrics"]["images"] == 4 and stored["source"] == "synthetic"
    for key in ("mae", "mse", "rmse", "abs_rel", "sqr_rel", "badpix", "bumpiness"):
        assert np.isfinite(stored["metrics"][key]), key
    assert stored["runtime"]["seconds_per_stack"] > 0 and stored["runtime"]["warm_up_excluded"]
    assert 0 < stored["aif"]["ssim"] <= 1 and stored["aif"]["psnr"] > 10
    assert stored["paper_compatible"]["abs_rel_sum"] == pytest.approx(4 * result["metrics"]["abs_rel"], rel=1e-6)


def test_one_evaluate_call_scores_several_stack_files_as_separate_calls_do(trained, hci_stacks, tmp_path):
    """The workflow evaluates each model once on all its test stacks: the same numbers per file."""
    files = [hci_stacks / "val.h5", hci_stacks / "train.h5"]
    outs = [tmp_path / "val.json", tmp_path / "train.json"]
    args = ["evaluate", "--model", str(trained), "--stacks", *map(str, files), "--out", *map(str, outs)]
    assert main([*args, "--predictions", str(tmp_path / "val.h5"), str(tmp_path / "train.h5")]) == 0
    for stacks, out in zip(files, outs):
        alone = evaluate(trained, stacks, tmp_path / "alone.json")
        together = json.loads(out.read_text())
        assert together["stacks"] == str(stacks) and together["metrics"]["mae"] == alone["metrics"]["mae"]
    assert (tmp_path / "train.h5").is_file()
    assert main([*args[:-1], "--predictions", str(tmp_path / "p.h5")]) == 2  # one output per stack file


def test_predict_round_trips_a_stack_file(trained, hci_stacks, tmp_path):
    from aifdepth.io.pfm import read_pfm

    assert (
        main(
            ["predict", "--model", str(trained), "--stack", str(hci_stacks / "val.h5"), "--out", str(tmp_path / "out")]
        )
        == 0
    )
    stacks = read_stacks(hci_stacks / "val.h5")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(stacks.names)
    depth = read_pfm(tmp_path / "out" / "dino" / "depth.pfm")
    evaluated = evaluate(trained, hci_stacks / "val.h5", tmp_path / "e.json", tmp_path / "e.h5")
    import h5py

    with h5py.File(tmp_path / "e.h5") as f:
        # same network, other batching: float32 kernels may accumulate in another order, which moves
        # depth by up to ~1e-5 of the 5-unit focus span; a wrong stack or slice order moves it by > 0.1
        np.testing.assert_allclose(depth, f["depth"][stacks.names.index("dino")], atol=1e-4)
    assert evaluated["metrics"]["images"] == 4
    assert (tmp_path / "out" / "dino" / "depth.png").is_file() and (tmp_path / "out" / "dino" / "aif.png").is_file()


def test_predict_images_with_negative_focus(trained, hci_stacks, tmp_path):
    from aifdepth.io.images import write_rgb

    stacks = read_stacks(hci_stacks / "val.h5")
    images = []
    for k, image in enumerate(stacks.stack[0]):
        images.append(str(tmp_path / f"slice{k}.png"))
        write_rgb(images[-1], image)
    focus = [f"{f:.4f}" for f in stacks.focus[0]]
    assert focus[0].startswith("-2.5")
    assert main(["predict", *images, "--model", str(trained), "--focus", *focus, "--out", str(tmp_path / "p")]) == 0
    assert (tmp_path / "p" / "depth.pfm").is_file()
    assert main(["predict", *images[:3], "--model", str(trained), "--focus", *focus, "--out", str(tmp_path / "q")]) == 2


def test_cosine_schedule_starts_at_the_rate_and_decays_to_zero():
    cosine = TrainSettings(steps=100, learning_rate=0.01)
    assert training.learning_rate_at(1, cosine) == pytest.approx(0.01)
    assert training.learning_rate_at(51, cosine) == pytest.approx(0.005)
    assert training.learning_rate_at(100, cosine) == pytest.approx(0.01 * 0.5 * (1 + np.cos(np.pi * 0.99)))
    constant = TrainSettings(steps=100, learning_rate=0.01, schedule="constant")
    assert training.learning_rate_at(100, constant) == 0.01
    with pytest.raises(InputError, match="schedule"):
        training.learning_rate_at(1, TrainSettings(schedule="step"))


def test_batch_norm_statistics_are_the_average_over_recalibration_batches():
    """After recalibration a norm's running mean is the plain mean of its batch means."""
    norm = torch.nn.BatchNorm2d(2)
    model = torch.nn.Sequential(norm)
    norm.running_mean.fill_(5.0)
    batches = [torch.full((1, 2, 4, 4), float(k)) for k in (1, 2, 6)]

    class Sampler:
        def batch(self, step):
            return {"stack": batches[step - 11], "focus": None}

    class Wrapper(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = model

        def forward(self, stack, focus):
            return self.inner(stack)

    wrapped = Wrapper()
    training.recalibrate_batch_norm(wrapped, Sampler(), steps=10, batches=3)
    torch.testing.assert_close(norm.running_mean, torch.full((2,), 3.0))
    assert not wrapped.training and norm.momentum == 0.1


def test_warm_up_ramps_linearly_then_the_cosine_runs_over_the_remaining_steps():
    warm = TrainSettings(steps=110, learning_rate=0.01, warmup_steps=10)
    assert [training.learning_rate_at(step, warm) for step in (1, 5, 10)] == pytest.approx(
        [0.01 / 11, 0.05 / 11, 0.1 / 11]
    )
    assert training.learning_rate_at(11, warm) == pytest.approx(0.01)  # the peak, after the ramp
    assert training.learning_rate_at(61, warm) == pytest.approx(0.005)  # half-way through the 100 cosine steps
    assert training.learning_rate_at(110, warm) == pytest.approx(0.01 * 0.5 * (1 + np.cos(np.pi * 0.99)))
    constant = TrainSettings(steps=50, learning_rate=0.01, warmup_steps=4, schedule="constant")
    assert training.learning_rate_at(2, constant) == pytest.approx(0.004)
    assert training.learning_rate_at(50, constant) == 0.01


def assert_falls_back_to_the_plain_run(config, stacks, tmp_path, caplog, base, asked, message):
    """Training with `asked` on top of `base` logs `message` once and ends with the weights of the
    run without `asked`, bit for bit."""
    with caplog.at_level("INFO", logger="aifdepth.train"):
        fallback = train(
            config,
            stacks / "train.h5",
            tmp_path / "a" / "model.pt",
            tmp_path / "a" / "log.csv",
            settings(**base, **asked),
        )
    assert sum(message in record.message for record in caplog.records) == 1
    plain = train(
        config, stacks / "train.h5", tmp_path / "b" / "model.pt", tmp_path / "b" / "log.csv", settings(**base)
    )
    for key, value in plain.state_dict().items():
        assert torch.equal(value, fallback.state_dict()[key]), key


def test_bf16_without_native_support_trains_in_fp32_with_one_log_line(hci_stacks, tmp_path, monkeypatch, caplog):
    """bf16 is asked for on a CPU without native bfloat16: the run is the fp32 run, bit for bit."""
    monkeypatch.setattr(training, "native_bf16", lambda device: False)
    assert_falls_back_to_the_plain_run(
        COMPACT_3D, hci_stacks, tmp_path, caplog, {"steps": 3}, {"precision": "bf16"}, "no native bfloat16"
    )
    with pytest.raises(InputError, match="precision"):
        training.autocast_context("fp8", "cpu")


def test_compile_without_a_cxx_compiler_trains_eager_with_one_log_line(hci_stacks, tmp_path, monkeypatch, caplog):
    """Inductor needs a C++ compiler on the CPU: without one, train.compile is the eager run, bit for bit."""
    monkeypatch.setenv("PATH", str(tmp_path))  # no c++, g++ or clang++ on it
    monkeypatch.delenv("CXX", raising=False)
    assert_falls_back_to_the_plain_run(
        COMPACT_2D, hci_stacks, tmp_path, caplog, {"steps": 2}, {"compile": True}, "no C++ compiler"
    )


def test_compile_with_a_cxx_compiler_wraps_the_same_weights(tmp_path, monkeypatch):
    compiler = tmp_path / "c++"
    compiler.write_text("#!/bin/sh\n")
    compiler.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert training.compile_blocker("cpu") is None
    model = torch.nn.Conv2d(3, 1, 3)
    wrapped = training.compiled(model, "cpu")  # compiles lazily, at the first call
    assert wrapped is not model and isinstance(wrapped, torch._dynamo.eval_frame.OptimizedModule)
    assert all(a is b for a, b in zip(wrapped.parameters(), model.parameters()))


def test_bf16_autocast_runs_the_forward_pass_in_bfloat16_and_the_loss_in_fp32(monkeypatch):
    monkeypatch.setattr(training, "native_bf16", lambda device: True)
    model = torch.nn.Conv2d(3, 1, 3)
    with training.autocast_context("bf16", "cpu")():
        output = model(torch.rand(1, 3, 8, 8))
    assert output.dtype == torch.bfloat16
    assert training._float32({"depth": output, "aif": None})["depth"].dtype == torch.float32
    with training.autocast_context("fp32", "cpu")():
        assert model(torch.rand(1, 3, 8, 8)).dtype == torch.float32


def test_bf16_training_resumes_to_the_same_weights(hci_stacks, tmp_path, monkeypatch):
    """Autocast included, a run stopped after a checkpoint and resumed ends where an uninterrupted one does.
    The 3D network on 32-pixel crops, whose deepest feature map is 1x1, as the 37-slice variants train."""
    monkeypatch.setattr(training, "native_bf16", lambda device: True)
    autocasts = []
    real_autocast = torch.autocast

    def counted_autocast(*args, **kwargs):
        if kwargs.get("enabled", True):  # not the float32 islands inside the network
            autocasts.append(kwargs["dtype"])
        return real_autocast(*args, **kwargs)

    monkeypatch.setattr(torch, "autocast", counted_autocast)
    recipe = settings(steps=6, checkpoint_every=3, precision="bf16", warmup_steps=2)
    straight = train(
        COMPACT_3D, hci_stacks / "train.h5", tmp_path / "a" / "model.pt", tmp_path / "a" / "log.csv", recipe
    )
    assert autocasts == [torch.bfloat16] * 7  # 6 steps, and the check of the final weights
    calls = {"n": 0}
    real_step = torch.optim.Adam.step

    def stop_after_step_4(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", stop_after_step_4)
    with pytest.raises(KeyboardInterrupt):
        train(COMPACT_3D, hci_stacks / "train.h5", tmp_path / "b" / "model.pt", tmp_path / "b" / "log.csv", recipe)
    monkeypatch.setattr(torch.optim.Adam, "step", real_step)
    assert torch.load(tmp_path / "b" / "model.checkpoint.pt", weights_only=True)["step"] == 3
    resumed = train(
        COMPACT_3D, hci_stacks / "train.h5", tmp_path / "b" / "model.pt", tmp_path / "b" / "log.csv", recipe
    )
    for key, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key


def test_timed_stack_files_are_timed_again_repeatedly_holding_the_machine(trained, hci_stacks, tmp_path):
    """A --timed file's seconds per image are the median of its repeats, taken inside the timing
    lock (the CLI's: every CPU slot), after the metrics; the other file keeps its one timing."""
    from aifdepth.evaluate import evaluate_all

    entered = []

    @contextlib.contextmanager
    def lock(name):
        entered.append(name)
        yield

    files = [hci_stacks / "val.h5", hci_stacks / "train.h5"]
    timed, untimed = evaluate_all(
        trained,
        files,
        [tmp_path / "val.json", tmp_path / "train.json"],
        timed=[files[0]],
        repeats=3,
        compute_lock=lambda: lock("compute"),
        timing_lock=lambda: lock("timing"),
    )
    assert entered == ["compute", "timing", "compute"]
    assert timed["runtime"]["repeats"] == 3 and timed["runtime"]["machine_to_itself"]
    for row in timed["per_image"]:
        assert len(row["seconds_repeats"]) == 3 and row["seconds"] == np.median(row["seconds_repeats"])
    assert timed["runtime"]["seconds_per_stack"] == pytest.approx(np.mean([r["seconds"] for r in timed["per_image"]]))
    stored = json.loads((tmp_path / "val.json").read_text())["per_image"]
    assert [row["seconds_repeats"] for row in stored] == [row["seconds_repeats"] for row in timed["per_image"]]
    assert untimed["runtime"]["repeats"] == 1 and not untimed["runtime"]["machine_to_itself"]
    assert "seconds_repeats" not in untimed["per_image"][0]
    assert timed["metrics"] == evaluate(trained, files[0], tmp_path / "plain.json")["metrics"]
    args = ["evaluate", "--model", str(trained), "--stacks", str(files[0]), "--out", str(tmp_path / "v.json")]
    assert main([*args, "--timed", str(files[1])]) == 2  # only files it evaluates
    assert main([*args, "--timed", str(files[0]), "--timing-repeats", "2"]) == 0
    assert json.loads((tmp_path / "v.json").read_text())["runtime"]["repeats"] == 2


def test_the_classical_baseline_is_written_without_waiting_for_a_cpu_slot(hci_stacks, tmp_path, monkeypatch):
    """It learns nothing: its job is instant, even while trainings hold every CPU slot."""
    import tempfile
    import threading

    from aifdepth.parallel import all_cpu_slots

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # a slot folder of this test's own
    out = tmp_path / "classical" / "model.pt"
    command = ["train", str(hci_stacks / "train.h5"), "--architecture", "classical", "--out", str(out)]
    exit_codes = []
    with all_cpu_slots():
        worker = threading.Thread(target=lambda: exit_codes.append(main([*command, "--log", str(tmp_path / "l.csv")])))
        worker.start()
        worker.join(30)
        assert exit_codes == [0]  # done while every slot was held
    assert load_model(out)[1].architecture == "classical"
