"""`imagenet` and `imagefolder`: class folders of real image files (JPEG, PNG), decoded and cropped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from descgraph.conf.schema import DatasetConf, LoaderConf
from descgraph.data import get_loaders, load_splits
from descgraph.data.imagefolder import IMAGENET_MEAN, IMAGENET_STD, crop_box
from descgraph.errors import DataError


def _conf(root: Path, **kwargs) -> DatasetConf:
    fields = {"name": "imagefolder", "n_classes": 2, "image_size": 16, "dataroot": str(root), "storage_name": "tiny"}
    return DatasetConf(**{**fields, **kwargs})


def test_classes_are_the_sorted_folders_and_images_come_at_the_conf_size(tmp_path, write_image_folder, image_colours):
    write_image_folder(tmp_path)
    splits = load_splits(_conf(tmp_path))
    assert (len(splits.train), len(splits.test), splits.n_classes, splits.image_size) == (6, 4, 2, 16)
    assert not splits.pad_crop
    image, label = splits.test[0]
    assert image.dtype == torch.uint8 and tuple(image.shape) == (3, 16, 16)
    assert [splits.test[i][1] for i in range(4)] == [0, 0, 1, 1]  # ant before bee
    # solid JPEG colours survive decoding within JPEG's error; PNG ones exactly
    assert (image.float().mean(dim=(1, 2)) - torch.tensor(image_colours["ant"], dtype=torch.float)).abs().max() < 3
    assert torch.equal(splits.test[1][0][:, 0, 0], torch.tensor(image_colours["ant"], dtype=torch.uint8))


def test_imagefolder_measures_its_statistics_and_imagenet_uses_published_ones(
    tmp_path, write_image_folder, image_colours
):
    folder = write_image_folder(tmp_path, per_class=2)
    for path in folder.rglob("*.JPEG"):  # lossless files only, so the statistics are exact
        path.unlink()
        Image.new("RGB", (40, 30), image_colours[path.parent.name]).save(path.with_suffix(".png"))
    splits = load_splits(_conf(tmp_path))
    colours = np.array(list(image_colours.values())) / 255.0  # one image of each colour
    assert splits.mean == pytest.approx(colours.mean(0).tolist(), abs=1e-6)
    assert splits.std == pytest.approx(colours.std(0).tolist(), abs=1e-6)
    imagenet = load_splits(_conf(tmp_path, name="imagenet"))
    assert (imagenet.mean, imagenet.std) == (IMAGENET_MEAN, IMAGENET_STD)


def test_a_test_image_is_the_centre_crop_after_resizing_its_shorter_side(tmp_path, write_image_folder):
    folder = write_image_folder(tmp_path)
    # 36 x 18, red on the left half and blue on the right: the shorter side is already 16 / 0.875 = 18,
    # so the crop is columns 10-25 and rows 1-16 of the file: 8 red columns, then 8 blue ones
    image = np.zeros((18, 36, 3), dtype=np.uint8)
    image[:, :18, 0] = 255
    image[:, 18:, 2] = 255
    for old in (folder / "val" / "ant").iterdir():
        old.unlink()
    Image.fromarray(image).save(folder / "val" / "ant" / "halves.png")
    crop = load_splits(_conf(tmp_path)).test[0][0]
    assert torch.equal(crop[0, :, :8], torch.full((16, 8), 255, dtype=torch.uint8))
    assert torch.equal(crop[2, :, 8:], torch.full((16, 8), 255, dtype=torch.uint8))
    assert int(crop[0, :, 8:].max()) == 0 and int(crop[2, :, :8].max()) == 0


def test_training_crops_cover_8_to_100_percent_at_three_quarters_to_four_thirds_and_follow_the_seed():
    torch.manual_seed(0)
    boxes = [crop_box(400, 300) for _ in range(2000)]
    torch.manual_seed(0)
    assert boxes[:50] == [crop_box(400, 300) for _ in range(50)]
    for left, top, right, bottom in boxes:
        w, h = right - left, bottom - top
        assert 0 <= left < right <= 400 and 0 <= top < bottom <= 300
        assert 0.08 - 0.01 <= w * h / 120_000 <= 1.0
        assert 3 / 4 - 0.02 <= w / h <= 4 / 3 + 0.02
    shares = [(r - left) * (b - t) / 120_000 for left, t, r, b in boxes]
    assert min(shares) < 0.1 and max(shares) > 0.6  # the whole range is drawn
    # a strip too thin for any draw (8 % of its area is 800 pixels, more than 10 rows at 4/3) falls back to
    # its centre at the nearest allowed ratio: round(10 * 4 / 3) = 13 columns from (1000 - 13) // 2
    assert crop_box(1000, 10) == (493, 0, 506, 10)


def test_training_images_are_random_crops_reproducible_from_torch_seed(tmp_path, write_image_folder):
    write_image_folder(tmp_path)
    train = load_splits(_conf(tmp_path)).train
    torch.manual_seed(3)
    first = train[0][0]
    torch.manual_seed(3)
    assert torch.equal(train[0][0], first) and tuple(first.shape) == (3, 16, 16)


def test_loaders_flip_and_normalize_without_the_padded_crop(tmp_path, write_image_folder):
    write_image_folder(tmp_path)
    loaders = get_loaders(LoaderConf(train_batch=4, test_batch=8, dataset=_conf(tmp_path)), seed=0)
    assert loaders.train.collate_fn.padding == 0 and loaders.train.collate_fn.flip
    images, labels = next(iter(loaders.train))
    assert tuple(images.shape) == (4, 3, 16, 16) and images.dtype == torch.float32
    test_images, test_labels = next(iter(loaders.test))
    assert tuple(test_images.shape) == (4, 3, 16, 16) and test_labels.tolist() == [0, 0, 1, 1]


def test_greyscale_and_alpha_files_decode_to_three_channels(tmp_path, write_image_folder):
    folder = write_image_folder(tmp_path)
    Image.new("L", (40, 30), 90).save(folder / "train" / "ant" / "grey.png")
    Image.new("RGBA", (40, 30), (10, 20, 30, 128)).save(folder / "train" / "bee" / "alpha.png")
    splits = load_splits(_conf(tmp_path))
    grey = next(i for i, (p, _) in enumerate(splits.train.samples) if p.name == "grey.png")
    assert torch.equal(splits.train[grey][0], torch.full((3, 16, 16), 90, dtype=torch.uint8))


def test_missing_layout_mismatched_classes_and_unreadable_files_are_one_line_errors(tmp_path, write_image_folder):
    with pytest.raises(DataError, match=r"no .*tiny/train and .*tiny/val folders"):
        load_splits(_conf(tmp_path))
    folder = write_image_folder(tmp_path)
    (folder / "val" / "cat").mkdir()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(folder / "val" / "cat" / "c.png")
    with pytest.raises(DataError, match=r"hold different classes .*cat"):
        load_splits(_conf(tmp_path))
    for path in (folder / "val" / "cat").iterdir():
        path.unlink()
    with pytest.raises(DataError, match=r"cat: no image files"):
        load_splits(_conf(tmp_path))
    (folder / "val" / "cat").rmdir()
    with pytest.raises(DataError, match=r"dataset.n_classes: the conf says 5 but 'imagefolder' provides 2"):
        load_splits(_conf(tmp_path, n_classes=5))
    with pytest.raises(DataError, match="set dataset.storage_name"):
        load_splits(_conf(tmp_path, storage_name=""))
    broken = folder / "val" / "ant" / "ant_0.JPEG"
    broken.write_bytes(b"not a JPEG file")
    splits = load_splits(_conf(tmp_path, name="imagenet"))  # files are read when drawn
    with pytest.raises(DataError, match=r"ant_0.JPEG: not a readable image"):
        splits.test[0]
