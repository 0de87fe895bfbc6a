"""CIFAR batches in the real python-pickle format: exact round trip, refused code, damaged files, fetching."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import multiprocessing
import os
import pickle
import re
import tarfile
import urllib.error

import numpy as np
import pytest
import torch

from descgraph.conf.schema import DatasetConf
from descgraph.data import cifar, load_splits
from descgraph.data.cifar import CIFAR10, read_batch
from descgraph.data.safe_pickle import load_array_pickle
from descgraph.errors import DataError

CIFAR10_FILES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


def cifar10_conf(root, **kwargs) -> DatasetConf:
    return DatasetConf(name="cifar10", dataroot=str(root), download=False, **kwargs)


def test_cifar10_pixels_and_labels_round_trip(tmp_path, write_cifar):
    folder = tmp_path / "cifar-10-batches-py"
    batches = write_cifar(folder, CIFAR10_FILES)
    raw = batches["data_batch_2"][b"data"]
    raw[3, 1024 + 4 * 32 + 5] = 201  # image 3 of batch 2, green plane (R, G, B planes in turn), row 4, column 5
    (folder / "data_batch_2").write_bytes(pickle.dumps(batches["data_batch_2"], protocol=2))
    splits = load_splits(cifar10_conf(tmp_path))
    x, y = splits.train.tensors
    assert x.shape == (100, 3, 32, 32) and x.dtype == torch.uint8 and y.dtype == torch.long
    assert int(x[20 + 3, 1, 4, 5]) == 201
    assert torch.equal(x[23].flatten(), torch.from_numpy(raw[3]))
    assert y.tolist() == sum((batches[f"data_batch_{i}"][b"labels"] for i in range(1, 6)), [])
    test_x, test_y = splits.test.tensors
    assert test_x.shape == (20, 3, 32, 32) and test_y.tolist() == batches["test_batch"][b"labels"]
    assert (splits.n_classes, splits.channels, splits.image_size, splits.can_flip) == (10, 3, 32, True)
    expected_mean = (x.double() / 255).mean(dim=(0, 2, 3))
    assert torch.allclose(torch.tensor(splits.mean, dtype=torch.float64), expected_mean)


def test_cifar100_reads_fine_labels(tmp_path, write_cifar):
    batches = write_cifar(tmp_path / "cifar-100-python", ["train", "test"], label_key=b"fine_labels", n_classes=100)
    splits = load_splits(DatasetConf(name="cifar100", dataroot=str(tmp_path), n_classes=100, download=False))
    assert splits.n_classes == 100 and splits.train.tensors[0].shape == (20, 3, 32, 32)
    assert splits.train.tensors[1].tolist() == batches["train"][b"fine_labels"]
    assert splits.test.tensors[1].tolist() == batches["test"][b"fine_labels"]


def test_storage_name_picks_the_folder(tmp_path, write_cifar):
    write_cifar(tmp_path / "my-cifar", CIFAR10_FILES)
    assert len(load_splits(cifar10_conf(tmp_path, storage_name="my-cifar")).train) == 100


def test_numpy_scalar_labels_and_old_numpy_module_names_are_read(tmp_path, write_cifar):
    batch = write_cifar(tmp_path, ["b"])["b"]
    batch[b"labels"] = [np.int64(v) for v in batch[b"labels"]]  # as list(rng.integers(...)) leaves them
    data = pickle.dumps(batch, protocol=2).replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    assert b"numpy.core.multiarray\n_reconstruct" in data  # how the published (numpy 1) batches name it
    (tmp_path / "b").write_bytes(data)
    images, labels = read_batch(tmp_path / "b", b"labels", 10)
    assert torch.equal(images.flatten(1), torch.from_numpy(batch[b"data"]))
    assert labels.tolist() == [int(v) for v in batch[b"labels"]]


class _RunsCommand:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _Evals:
    def __reduce__(self):
        return (eval, ("__import__('os').getcwd()",))


@pytest.mark.parametrize("payload", ["os.system", "eval"])
def test_a_pickle_carrying_code_is_refused_and_not_run(tmp_path, write_cifar, payload):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar(folder, CIFAR10_FILES)
    marker = tmp_path / "pwned"
    evil = _RunsCommand(marker) if payload == "os.system" else _Evals()
    (folder / "data_batch_1").write_bytes(pickle.dumps({b"data": evil, b"labels": []}, protocol=2))
    with pytest.raises(DataError, match=r"data_batch_1.*refused global"):
        load_splits(cifar10_conf(tmp_path))
    assert not marker.exists()


def test_object_arrays_and_other_codecs_are_refused(tmp_path):
    (tmp_path / "objects").write_bytes(pickle.dumps({b"data": np.array([1, "a"], dtype=object)}, protocol=2))
    with pytest.raises(DataError, match="objects.*refused object dtype"):
        load_array_pickle(tmp_path / "objects")
    data = pickle.dumps({b"data": np.zeros(3, np.uint8)}, protocol=2)
    (tmp_path / "codec").write_bytes(data.replace(b"X\x06\x00\x00\x00latin1", b"X\x05\x00\x00\x00rot13"))
    with pytest.raises(DataError, match="codec.*refused _codecs.encode"):
        load_array_pickle(tmp_path / "codec")


def test_a_truncated_batch_names_the_file(tmp_path, write_cifar):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar(folder, CIFAR10_FILES)
    data = (folder / "test_batch").read_bytes()
    (folder / "test_batch").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"test_batch: not a readable array pickle"):
        load_splits(cifar10_conf(tmp_path))


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        ([1, 2, 3], "expected a dict with keys b'data' and b'labels'"),
        ({b"data": np.zeros((2, 3072), np.uint8)}, "expected a dict"),
        (
            {b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]},
            r"b'data' must be an N x 3072 uint8 array, got \(2, 100\) uint8",
        ),
        (
            {b"data": np.zeros((2, 3072), np.float32), b"labels": [0, 1]},
            "b'data' must be an N x 3072 uint8 array, got .* float32",
        ),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, "1 labels in b'labels' for 2 images"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}, r"labels 0..10 outside 0..9"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [b"a", b"b"]}, "b'labels' must be a list of integers"),
    ],
)
def test_a_batch_in_the_wrong_layout_names_the_file_and_the_problem(tmp_path, batch, message):
    (tmp_path / "data_batch_4").write_bytes(pickle.dumps(batch, protocol=2))
    with pytest.raises(DataError, match=rf"data_batch_4: {message}"):
        read_batch(tmp_path / "data_batch_4", b"labels", 10)


def test_a_missing_batch_file_is_named(tmp_path, write_cifar):
    write_cifar(tmp_path / "cifar-10-batches-py", CIFAR10_FILES[:-1])
    with pytest.raises(DataError, match="test_batch: missing file"):
        load_splits(cifar10_conf(tmp_path))


def test_missing_folder_with_download_disabled(tmp_path):
    with pytest.raises(DataError) as e:
        load_splits(cifar10_conf(tmp_path / "nowhere"))
    assert str(e.value) == (
        f"cifar10: no CIFAR-10 batches in {tmp_path / 'nowhere' / 'cifar-10-batches-py'} "
        "(download disabled (dataset.download: false)); "
        "put the python version of CIFAR-10 there or set dataset.dataroot"
    )


def test_missing_folder_with_a_failing_download(tmp_path, monkeypatch):
    def no_network(url, timeout):
        assert url == CIFAR10.url
        raise urllib.error.URLError("network unreachable")

    monkeypatch.setattr("urllib.request.urlopen", no_network)
    folder = tmp_path / "nowhere" / "cifar-10-batches-py"
    with pytest.raises(
        DataError, match=rf"no CIFAR-10 batches in {re.escape(str(folder))} \(download failed: .*unreachable\)"
    ):
        load_splits(DatasetConf(name="cifar10", dataroot=str(tmp_path / "nowhere"), download=True))
    assert not list((tmp_path / "nowhere").glob("*.part"))


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _cifar10_archive(tmp_path, write_cifar, n: int = 20) -> tuple[bytes, dict[str, dict]]:
    batches = write_cifar(tmp_path / "src", CIFAR10_FILES, n=n)
    members = {f"cifar-10-batches-py/{name}": (tmp_path / "src" / name).read_bytes() for name in batches}
    return _tar_gz(members), batches


class _Response(io.BytesIO):
    headers: dict[str, str] = {}


def _serve(monkeypatch, archive: bytes, md5: str | None = None) -> None:
    """Serve `archive` as the CIFAR-10 download and make `md5` (default: the archive's) the published one."""
    layout = dataclasses.replace(CIFAR10, md5=md5 or hashlib.md5(archive).hexdigest())
    monkeypatch.setattr(cifar, "CIFAR10", layout)
    monkeypatch.setattr("urllib.request.urlopen", lambda url, timeout: _Response(archive))


def test_download_checks_md5_and_extracts(tmp_path, monkeypatch, write_cifar):
    archive, _ = _cifar10_archive(tmp_path, write_cifar)
    _serve(monkeypatch, archive)
    splits = load_splits(DatasetConf(name="cifar10", dataroot=str(tmp_path / "root")))
    assert len(splits.train) == 100 and (tmp_path / "root" / "cifar-10-python.tar.gz").is_file()


def test_download_with_a_wrong_checksum_is_refused(tmp_path, monkeypatch):
    _serve(monkeypatch, _tar_gz({"cifar-10-batches-py/test_batch": b"x"}), md5="0" * 32)
    with pytest.raises(DataError, match="download failed: .*checksum mismatch"):
        load_splits(DatasetConf(name="cifar10", dataroot=str(tmp_path)))
    assert [p.name for p in tmp_path.iterdir()] == [".cifar-10-batches-py.lock"]  # no archive, part or folder


@pytest.mark.parametrize("name", ["../escaped", "/tmp/absolute", "cifar-10-batches-py/../../escaped"])
def test_archive_members_outside_the_root_are_refused(tmp_path, monkeypatch, name):
    _serve(monkeypatch, _tar_gz({name: b"x"}))
    with pytest.raises(DataError, match="extraction failed: .*unsafe member path"):
        load_splits(DatasetConf(name="cifar10", dataroot=str(tmp_path / "root")))
    assert not (tmp_path / "escaped").exists()


def test_a_local_archive_is_extracted_without_the_network(tmp_path, monkeypatch, write_cifar):
    archive, _ = _cifar10_archive(tmp_path, write_cifar)
    _serve(monkeypatch, archive)
    monkeypatch.setattr("urllib.request.urlopen", None)  # any network use would fail
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "cifar-10-python.tar.gz").write_bytes(archive)
    assert len(load_splits(cifar10_conf(tmp_path / "root")).test) == 20


def test_an_extraction_cut_short_leaves_no_half_folder(tmp_path, monkeypatch, write_cifar):
    """A full disk (or a killed process) in the middle of the extraction: the batch folder does not appear
    half written, so the next run extracts the archive again instead of reading a folder with files missing."""
    archive, _ = _cifar10_archive(tmp_path, write_cifar)
    _serve(monkeypatch, archive)
    killed = tmp_path / "root" / f".{CIFAR10.archive_name}.x1y2z3"  # the scratch folder of a killed extraction
    (killed / "cifar-10-batches-py").mkdir(parents=True)
    copy, copied = tarfile.copyfileobj, []

    def disk_full_after_two_files(src, dst, *args, **kwargs):  # tarfile writes each member's bytes with it
        if len(copied) == 2:
            raise OSError(28, "No space left on device")
        copied.append(dst)
        return copy(src, dst, *args, **kwargs)

    monkeypatch.setattr(tarfile, "copyfileobj", disk_full_after_two_files)
    with pytest.raises(DataError, match="extraction failed: .*No space left on device"):
        load_splits(DatasetConf(name="cifar10", dataroot=str(tmp_path / "root")))
    assert len(copied) == 2
    assert sorted(p.name for p in (tmp_path / "root").iterdir()) == [".cifar-10-batches-py.lock", CIFAR10.archive_name]

    monkeypatch.setattr(tarfile, "copyfileobj", copy)
    assert len(load_splits(DatasetConf(name="cifar10", dataroot=str(tmp_path / "root"))).test) == 20


def _load_in_a_process(root: str, md5: str, barrier) -> tuple[int, int]:
    """Load CIFAR-10 from `root` in a fresh process, with `md5` as the published checksum of the local archive."""
    cifar.CIFAR10 = dataclasses.replace(cifar.CIFAR10, md5=md5)
    barrier.wait()
    splits = load_splits(DatasetConf(name="cifar10", dataroot=root, download=False))
    return len(splits.train), int(splits.train.tensors[0].sum())


def test_processes_that_fetch_at_once_all_read_the_whole_dataset(tmp_path, write_cifar):
    """The ranks of a torchrun job (or Ray workers) find the dataset missing at the same moment: one extracts
    the archive while the others wait, and every one reads every image."""
    archive, batches = _cifar10_archive(tmp_path, write_cifar, n=400)
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / CIFAR10.archive_name).write_bytes(archive)
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(4)
        with context.Pool(4) as pool:
            args = [(str(tmp_path / "root"), hashlib.md5(archive).hexdigest(), barrier)] * 4
            results = pool.starmap(_load_in_a_process, args, chunksize=1)
    pixels = sum(int(batches[name][b"data"].astype(np.int64).sum()) for name in CIFAR10_FILES[:5])
    assert results == [(2000, pixels)] * 4
