"""Readers against small hand-made files in the real formats."""

import configparser

import cv2
import h5py
import numpy as np
import pytest

from aifdepth.datasets import open_dataset
from aifdepth.datasets.hci import read_scene, view_filename, write_scene
from aifdepth.errors import InputError
from aifdepth.io.images import read_exr_depth, read_rgb, write_exr_depth, write_rgb
from aifdepth.io.pfm import read_pfm, write_pfm


def hand_pfm(path, rows, little_endian=True, colour=False):
    """A PFM written byte by byte as the format defines it: bottom row first."""
    rows = np.asarray(rows, dtype="<f4" if little_endian else ">f4")
    height, width = rows.shape[:2]
    header = f"{'PF' if colour else 'Pf'}\n{width} {height}\n{-1.0 if little_endian else 1.0}\n".encode()
    path.write_bytes(header + rows[::-1].tobytes())


@pytest.mark.parametrize("little_endian", [True, False])
def test_pfm_row_order_and_endianness(tmp_path, little_endian):
    rows = [[1.0, 2.0, 3.0], [4.0, 5.0, np.inf]]
    hand_pfm(tmp_path / "d.pfm", rows, little_endian)
    np.testing.assert_array_equal(read_pfm(tmp_path / "d.pfm"), np.array(rows, np.float32))


def test_colour_pfm_is_rgb(tmp_path):
    image = np.zeros((2, 3, 3), np.float32)
    image[..., 0] = 1.0  # red
    hand_pfm(tmp_path / "c.pfm", image, colour=True)
    read = read_pfm(tmp_path / "c.pfm")
    assert read.shape == (2, 3, 3)
    np.testing.assert_array_equal(read[..., 0], 1.0)
    np.testing.assert_array_equal(read[..., 2], 0.0)


def test_pfm_round_trip(tmp_path, rng):
    disparity = rng.normal(size=(5, 7)).astype(np.float32)
    write_pfm(tmp_path / "x.pfm", disparity)
    np.testing.assert_array_equal(read_pfm(tmp_path / "x.pfm"), disparity)
    assert (tmp_path / "x.pfm").read_bytes()[:2] == b"Pf"


def test_truncated_pfm_names_file_and_problem(tmp_path):
    hand_pfm(tmp_path / "t.pfm", np.ones((4, 4)))
    data = (tmp_path / "t.pfm").read_bytes()
    (tmp_path / "t.pfm").write_bytes(data[:-10])
    with pytest.raises(InputError, match=r"t\.pfm: truncated PFM: 4x4 needs 64 data bytes, found 54"):
        read_pfm(tmp_path / "t.pfm")


def test_malformed_pfm(tmp_path):
    (tmp_path / "m.pfm").write_bytes(b"P6\n2 2\n255\n" + bytes(12))
    with pytest.raises(InputError, match=r"m\.pfm: not a PFM file"):
        read_pfm(tmp_path / "m.pfm")
    (tmp_path / "h.pfm").write_bytes(b"Pf\nfour 2\n-1\n" + bytes(32))
    with pytest.raises(InputError, match=r"h\.pfm: malformed PFM header"):
        read_pfm(tmp_path / "h.pfm")


def test_exr_depth_metres(tmp_path):
    depth = np.array([[0.1, 0.5], [1.25, 2.0]], np.float32)
    write_exr_depth(tmp_path / "000000Dpt.exr", depth)
    np.testing.assert_array_equal(read_exr_depth(tmp_path / "000000Dpt.exr"), depth)


def test_rgb_order_and_wrong_size(tmp_path):
    image = np.zeros((4, 6, 3), np.uint8)
    image[..., 0] = 200
    write_rgb(tmp_path / "im0.png", image)
    assert read_rgb(tmp_path / "im0.png")[0, 0].tolist() == [200, 0, 0]
    with pytest.raises(InputError, match=r"im0\.png: image is 6x4 \(WxH\) but 5x4 was expected"):
        read_rgb(tmp_path / "im0.png", expected_shape=(4, 5))


def make_hci_scene(scene_dir, height=6, width=8):
    """Views whose red channel encodes the Cam index, to check the 9*row + col order."""
    views = np.zeros((9, 9, height, width, 3), np.uint8)
    for u in range(9):
        for v in range(9):
            views[u, v, ..., 0] = 9 * u + v
    write_scene(scene_dir, views, np.zeros((height, width), np.float32), (-1.0, 1.0))
    return views


def test_hci_cam_index_order(tmp_path):
    make_hci_scene(tmp_path / "training" / "boxes")
    assert (tmp_path / "training" / "boxes" / "input_Cam040.png").is_file()
    assert view_filename(1, 2) == "input_Cam011.png"
    sample = read_scene(tmp_path / "training" / "boxes")
    assert sample.views[1, 2, 0, 0, 0] == 11
    assert sample.views[8, 0, 0, 0, 0] == 72
    assert sample.aif[0, 0, 0] == 40  # the centre view


def test_hci_missing_views_named(tmp_path):
    scene = tmp_path / "training" / "boxes"
    make_hci_scene(scene)
    (scene / "input_Cam017.png").unlink()
    with pytest.raises(InputError, match=r"boxes: missing 1 of 81 views \(input_Cam017\.png\)"):
        read_scene(scene)


def test_hci_view_of_wrong_size_named(tmp_path):
    scene = tmp_path / "training" / "boxes"
    make_hci_scene(scene)
    write_rgb(scene / "input_Cam003.png", np.zeros((5, 8, 3), np.uint8))
    with pytest.raises(InputError, match=r"input_Cam003\.png: image is 8x5"):
        read_scene(scene)


def test_hci_parameters_cfg_checked(tmp_path):
    scene = tmp_path / "training" / "boxes"
    make_hci_scene(scene)
    cfg = configparser.ConfigParser()
    cfg.read(scene / "parameters.cfg")
    cfg["extrinsics"]["num_cams_x"] = "7"
    with open(scene / "parameters.cfg", "w") as f:
        cfg.write(f)
    with pytest.raises(InputError, match="9x9 camera grid"):
        read_scene(scene)


def test_hci_splits(tmp_path):
    for category, name in [
        ("training", "boxes"),
        ("training", "cotton"),
        ("training", "dino"),
        ("training", "sideboard"),
        ("additional", "town"),
        ("test", "herbs"),
    ]:
        make_hci_scene(tmp_path / category / name, 4, 4)
    dataset = open_dataset("hci", tmp_path)
    assert dataset.names("val") == ["boxes", "cotton", "dino", "sideboard"]
    assert dataset.names("train") == ["town"]  # test scenes have no GT and are never used


def write_ddff(root, with_val=True):
    rng = np.random.default_rng(0)
    with h5py.File(root / "ddff-dataset-trainval.h5", "w") as f:
        f["stack_train"] = rng.integers(0, 255, (2, 10, 6, 8, 3), dtype=np.uint8)
        f["disp_train"] = np.full((2, 6, 8), 0.1, np.float32)
        if with_val:
            f["stack_val"] = rng.integers(0, 255, (1, 10, 6, 8, 3), dtype=np.uint8)
            disp = np.full((1, 6, 8), 0.2, np.float32)
            disp[0, 0, 0] = 0.0
            f["disp_val"] = disp
    with h5py.File(root / "ddff-dataset-test.h5", "w") as f:
        f["stack_test"] = rng.integers(0, 255, (1, 10, 6, 8, 3), dtype=np.uint8)


def test_ddff_keys_and_missing_depth(tmp_path):
    write_ddff(tmp_path)
    dataset = open_dataset("ddff", tmp_path)
    assert dataset.names("train") == ["train_00000", "train_00001"]
    sample = dataset.load("val", "val_00000")
    assert sample.stack.shape == (10, 6, 8, 3)
    assert np.isnan(sample.depth[0, 0]) and sample.depth[1, 1] == pytest.approx(0.2)
    np.testing.assert_allclose(sample.focus, np.linspace(0.28248, 0.02018, 10))
    assert np.isnan(dataset.load("test", "test_00000").depth).all()


def test_ddff_missing_key_named(tmp_path):
    write_ddff(tmp_path, with_val=False)
    with pytest.raises(InputError, match=r"ddff-dataset-trainval\.h5: missing key\(s\) \['stack_val', 'disp_val'\]"):
        open_dataset("ddff", tmp_path).names("val")


def test_defocusnet_layout(tmp_path):
    folder = tmp_path / "fs_6"
    for index in range(5):
        for k in range(5):
            write_rgb(folder / f"{index:06d}_{k:02d}All.tif", np.full((4, 4, 3), 10 * k, np.uint8))
        write_exr_depth(folder / f"{index:06d}Dpt.exr", np.full((4, 4), 0.5 + index, np.float32))
    dataset = open_dataset("defocusnet", tmp_path)
    assert dataset.names("train") == ["000000", "000001", "000002", "000003"]
    assert dataset.names("test") == ["000004"]
    sample = dataset.load("test", "000004")
    assert [s[0, 0, 0] for s in sample.stack] == [0, 10, 20, 30, 40]
    np.testing.assert_allclose(sample.depth, 4.5)
    np.testing.assert_allclose(sample.focus, [0.1, 0.15, 0.3, 0.7, 1.5])
    (folder / "000001_03All.tif").unlink()
    with pytest.raises(InputError, match=r"stack 000001 lacks \['000001_03All\.tif'\]"):
        dataset.load("train", "000001")


def test_middlebury_calib_and_unknown_disparity(tmp_path):
    scene = tmp_path / "trainingQ" / "Teddy"
    write_rgb(scene / "im0.png", np.zeros((4, 5, 3), np.uint8))
    hand_pfm(scene / "disp0GT.pfm", [[10, 20, np.inf, 30, 40]] * 4)
    (scene / "calib.txt").write_text("cam0=[1 0 2; 0 1 2; 0 0 1]\ndoffs=0\nbaseline=1\nwidth=5\nheight=4\nndisp=64\n")
    sample = open_dataset("middlebury", tmp_path).load("test", "Teddy")
    assert np.isnan(sample.depth[:, 2]).all() and sample.depth[0, 4] == 40
    (scene / "calib.txt").write_text("cam0=[1 0 2; 0 1 2; 0 0 1]\nwidth=6\nheight=4\nndisp=64\n")
    with pytest.raises(InputError, match=r"im0\.png: image is 5x4 \(WxH\) but 6x4"):
        open_dataset("middlebury", tmp_path).load("test", "Teddy")


def test_mobiledepth_layout(tmp_path):
    for k in range(3):
        write_rgb(tmp_path / "Aligned" / "Figure5" / "keyboard" / f"a{k:02d}.jpg", np.full((8, 8, 3), 50 * k, np.uint8))
    (tmp_path / "calibration" / "keyboard").mkdir(parents=True)
    (tmp_path / "calibration" / "keyboard" / "calibrated.txt").write_text("0.5 1 2\n0.25 1 2\n0.125 1 2\n")
    dataset = open_dataset("mobiledepth", tmp_path)
    assert dataset.names("test") == ["keyboard"]
    sample = dataset.load("test", "keyboard")
    np.testing.assert_array_equal(sample.focus, [0.5, 0.25, 0.125])
    assert sample.stack.shape == (3, 8, 8, 3) and np.isnan(sample.depth).all()
    (tmp_path / "calibration" / "keyboard" / "calibrated.txt").write_text("0.5 1 2\n0.25 1 2\n0.125 1 2\n4.2 1\n")
    np.testing.assert_array_equal(dataset.load("test", "keyboard").focus, [0.5, 0.25, 0.125])  # + focal length line
    (tmp_path / "calibration" / "keyboard" / "calibrated.txt").write_text("0.5\n0.25\n")
    with pytest.raises(InputError, match="2 focal depths for 3 frames"):
        dataset.load("test", "keyboard")
    # metals: calibrated.txt runs the other way round (the official test code reverses it)
    (tmp_path / "Aligned" / "Figure5" / "keyboard").rename(tmp_path / "Aligned" / "Figure5" / "metals")
    (tmp_path / "calibration" / "metals").mkdir()
    (tmp_path / "calibration" / "metals" / "calibrated.txt").write_text("0.5 1 2\n0.25 1 2\n0.125 1 2\n4.2 1\n")
    np.testing.assert_array_equal(dataset.load("test", "metals").focus, [0.125, 0.25, 0.5])


def write_stack_list_scene(root, folder, disparity_rows, relative=True, shade=0):
    """A scene of the authors' lists: 15 slices and a PFM disparity; returns its list line."""
    paths = []
    for k in range(15):
        path = root / folder / f"{k:02d}.png"
        write_rgb(path, np.full((4, 5, 3), shade + k, np.uint8))
        paths.append(path)
    hand_pfm(root / folder / "disp.pfm", disparity_rows)
    paths.append(root / folder / "disp.pfm")
    return " ".join(str(p.relative_to(root)) if relative else str(p) for p in paths)


def test_the_authors_stack_lists_are_read_as_the_official_code_reads_them(tmp_path):
    rows = [[10, 20, np.inf, 30, 0]] * 4
    lines = [
        write_stack_list_scene(tmp_path, "Middlebury/Teddy", rows),
        write_stack_list_scene(tmp_path, "Middlebury/Piano", rows, relative=False, shade=100),
    ]
    (tmp_path / "test.txt").write_text("\n".join(lines) + "\n\n")
    dataset = open_dataset("middlebury_fs", tmp_path)
    assert dataset.names("test") == ["Teddy", "Piano"]  # the disparity's folder, in list order
    sample = dataset.load("test", "Piano")
    assert [s[0, 0, 0] for s in sample.stack] == list(range(100, 115))
    np.testing.assert_allclose(sample.focus, np.linspace(10, 60, 15))
    assert np.isnan(sample.depth[:, 2]).all() and np.isnan(sample.depth[:, 4]).all() and sample.depth[0, 3] == 30
    dataset.check_layout()

    (tmp_path / "train.txt").write_text(
        write_stack_list_scene(tmp_path, "FT3D/A/0001/left", rows)
        + "\n"
        + write_stack_list_scene(tmp_path, "FT3D/B/0002/left", rows)
    )
    flying = open_dataset("flyingthings3d_fs", tmp_path)
    assert flying.names("train") == ["FT3D_A_0001_left_disp", "FT3D_B_0002_left_disp"]  # folders repeat
    np.testing.assert_allclose(flying.load("train", "FT3D_A_0001_left_disp").focus, np.linspace(10, 100, 15))


def test_a_bad_stack_list_is_named_with_its_line(tmp_path):
    dataset = open_dataset("middlebury_fs", tmp_path)
    with pytest.raises(InputError, match=r"test\.txt: no list of the test split; write the official list there"):
        dataset.names("test")
    line = write_stack_list_scene(tmp_path, "Teddy", [[10.0] * 5] * 4)
    (tmp_path / "test.txt").write_text(line + "\n" + " ".join(line.split()[1:]) + "\n")
    with pytest.raises(InputError, match=r"test\.txt, line 2: 15 paths; a line holds 15 slice images"):
        dataset.names("test")
    (tmp_path / "test.txt").write_text(line + "\n")
    (tmp_path / "Teddy" / "07.png").unlink()
    with pytest.raises(InputError, match=r"scene Teddy lacks \[.*Teddy/07\.png'\]"):
        dataset.load("test", "Teddy")


def test_a_stack_list_disparity_may_be_a_one_channel_image(tmp_path):
    line = write_stack_list_scene(tmp_path, "Teddy", [[10.0] * 5] * 4).replace("disp.pfm", "disp.png")
    cv2.imwrite(str(tmp_path / "Teddy" / "disp.png"), np.full((4, 5), 42, np.uint16))
    (tmp_path / "test.txt").write_text(line + "\n")
    assert (open_dataset("middlebury_fs", tmp_path).load("test", "Teddy").depth == 42).all()
    cv2.imwrite(str(tmp_path / "Teddy" / "disp.png"), np.full((4, 5, 3), 42, np.uint8))
    with pytest.raises(InputError, match=r"disp\.png: a disparity map has one channel, this image has 3"):
        open_dataset("middlebury_fs", tmp_path).load("test", "Teddy")
