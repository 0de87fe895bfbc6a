"""`imagenet` and `imagefolder`: image files in one folder per class, decoded as they are drawn.

The layout is ILSVRC-2012's once its validation images are sorted into class folders (as torchvision's
ImageFolder and most training scripts expect):

    <dataroot>/<storage_name>/train/<class>/*.JPEG
    <dataroot>/<storage_name>/val/<class>/*.JPEG      (or test/)

Classes are numbered in sorted folder order, so labels agree with other tools reading the same folders.
Training images get Inception-style random resized crops (a random 8-100 % of the area at an aspect
ratio of 3/4 to 4/3, resized to `dataset.image_size`); test images are resized so that their shorter
side is image_size / 0.875 and centre-cropped (224 out of 256). The loader's batch transform flips and
normalizes them; its padded random crop, meant for CIFAR-sized images, is left out (`loader.aug: false`
turns the flip off; the crops belong to the splits). Decoding runs in the loader's `loader.workers`.

`imagenet` normalizes with ImageNet's published channel statistics; `imagefolder` (any other dataset in
this layout) measures them on up to 512 of its training images.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from descgraph.conf.schema import DatasetConf
from descgraph.data._registry import register_dataset
from descgraph.data.splits import DatasetSplits, channel_stats
from descgraph.errors import DataError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp")
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
CROP_FRACTION = 0.875  # test images: centre crop of image_size out of image_size / 0.875
SCALE = (0.08, 1.0)  # share of the area a training crop covers
RATIO = (3 / 4, 4 / 3)  # its aspect ratios
STATS_IMAGES = 512


def scan_classes(folder: Path) -> tuple[list[str], list[tuple[Path, int]]]:
    """Class names (sorted folder names) and (image file, class index) pairs under `folder`.

    Raises:
        DataError: no class folders, or a class folder without an image file.
    """
    classes = sorted(d.name for d in folder.iterdir() if d.is_dir())
    if not classes:
        raise DataError(f"{folder}: no class folders (expected {folder}/<class>/<image files>)")
    samples = []
    for index, name in enumerate(classes):
        files = sorted(p for p in (folder / name).rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
        if not files:
            raise DataError(f"{folder / name}: no image files ({', '.join(IMAGE_EXTENSIONS)})")
        samples += [(path, index) for path in files]
    return classes, samples


def crop_box(width: int, height: int) -> tuple[int, int, int, int]:
    """A random (left, top, right, bottom) box of a random resized crop, drawn from torch's RNG.

    As Szegedy et al. (2015) and torchvision's RandomResizedCrop: up to ten draws of an area share in
    SCALE and a log-uniform aspect ratio in RATIO; when none fits, the centre crop at the nearest ratio.
    """
    area = width * height
    log_ratio = (math.log(RATIO[0]), math.log(RATIO[1]))
    for _ in range(10):
        target = area * float(torch.empty(1).uniform_(*SCALE))
        ratio = math.exp(float(torch.empty(1).uniform_(*log_ratio)))
        w, h = round(math.sqrt(target * ratio)), round(math.sqrt(target / ratio))
        if 0 < w <= width and 0 < h <= height:
            left = int(torch.randint(0, width - w + 1, (1,)))
            top = int(torch.randint(0, height - h + 1, (1,)))
            return left, top, left + w, top + h
    ratio = width / height
    if ratio < RATIO[0]:
        w, h = width, round(width / RATIO[0])
    elif ratio > RATIO[1]:
        w, h = round(height * RATIO[1]), height
    else:
        w, h = width, height
    left, top = (width - w) // 2, (height - h) // 2
    return left, top, left + w, top + h


def centre_box(width: int, height: int, size: int) -> tuple[tuple[int, int], tuple[int, int, int, int]]:
    """The size the shorter side resizes to size / CROP_FRACTION at, and the centre size x size box in it."""
    short = int(size / CROP_FRACTION)
    if width <= height:
        new = (short, max(short, round(height * short / width)))
    else:
        new = (max(short, round(width * short / height)), short)
    left, top = (new[0] - size) // 2, (new[1] - size) // 2
    return new, (left, top, left + size, top + size)


class ImageFolderDataset(Dataset):
    """(uint8 3 x size x size image, label) pairs decoded from files, cropped for training or testing.

    Args:
        samples: (image file, class index) pairs.
        size: height and width of the images handed out.
        train: random resized crops (else the resized centre crop).
    """

    def __init__(self, samples: list[tuple[Path, int]], size: int, train: bool) -> None:
        self.samples, self.size, self.train = samples, size, train

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        from PIL import Image

        path, label = self.samples[index]
        try:
            with Image.open(path) as opened:
                image = opened.convert("RGB")
        except (OSError, ValueError, Image.DecompressionBombError) as e:
            raise DataError(f"{path}: not a readable image ({e})") from None
        bilinear = Image.Resampling.BILINEAR
        if self.train:
            image = image.resize((self.size, self.size), bilinear, box=crop_box(*image.size))
        else:
            new, box = centre_box(*image.size, self.size)
            image = image.resize(new, bilinear).crop(box)
        pixels = torch.from_numpy(np.array(image, dtype=np.uint8))
        return pixels.permute(2, 0, 1).contiguous(), label


def load_image_folder(conf: DatasetConf, folder_name: str, stats: tuple[list[float], list[float]] | None = None):
    """Splits of `<dataroot>/<storage_name or folder_name>/{train, val or test}` at `conf.image_size`.

    Raises:
        DataError: one line naming the folder, when the layout is missing or the two splits' classes differ.
    """
    root = Path(conf.dataroot).expanduser() / (conf.storage_name or folder_name)
    train_dir = root / "train"
    test_dir = next((root / name for name in ("val", "test") if (root / name).is_dir()), None)
    if not train_dir.is_dir() or test_dir is None:
        raise DataError(
            f"{conf.name}: no {train_dir} and {root / 'val'} folders of class folders; put the dataset there in "
            "that layout (ImageNet's validation images sorted into class folders) or set dataset.dataroot"
        )
    classes, train_samples = scan_classes(train_dir)
    test_classes, test_samples = scan_classes(test_dir)
    if test_classes != classes:
        extra = sorted(set(test_classes) ^ set(classes))[:5]
        raise DataError(f"{conf.name}: {train_dir} and {test_dir} hold different classes (for example {extra})")
    train = ImageFolderDataset(train_samples, conf.image_size, train=True)
    test = ImageFolderDataset(test_samples, conf.image_size, train=False)
    if stats is None:
        stats = _measured_stats(train_samples, conf.image_size)
    return DatasetSplits(
        train=train,
        test=test,
        n_classes=len(classes),
        channels=3,
        image_size=conf.image_size,
        mean=stats[0],
        std=stats[1],
        pad_crop=False,
    )


def _measured_stats(samples: list[tuple[Path, int]], size: int) -> tuple[list[float], list[float]]:
    """Channel mean and std of the centre crops of up to STATS_IMAGES training images, drawn with a fixed seed."""
    pick = torch.randperm(len(samples), generator=torch.Generator().manual_seed(0))[:STATS_IMAGES].tolist()
    plain = ImageFolderDataset([samples[i] for i in pick], size, train=False)
    return channel_stats(torch.stack([plain[i][0] for i in range(len(plain))]))


@register_dataset("imagenet")
def load_imagenet(conf: DatasetConf) -> DatasetSplits:
    """ILSVRC-2012 from <dataroot>/imagenet/{train,val}/<class>/ (it needs a registered download)."""
    return load_image_folder(conf, "imagenet", (IMAGENET_MEAN, IMAGENET_STD))


@register_dataset("imagefolder")
def load_imagefolder(conf: DatasetConf) -> DatasetSplits:
    """Any dataset in the ImageNet layout under <dataroot>/<storage_name>/; its statistics measured."""
    if not conf.storage_name:
        raise DataError("imagefolder: set dataset.storage_name to the dataset's folder inside dataroot")
    return load_image_folder(conf, conf.storage_name)
