"""Fetching a dataset archive: download with a progress bar, md5 check, safe extraction.

Several processes may fetch the same dataset at once (the ranks of a torchrun job, the Ray workers of a search,
two runs on one machine): `fetch_lock` lets one fetch while the others wait, and `extract` makes each of the
archive's top-level entries appear whole or not at all, so that a process that died in the middle (or a full
disk) never leaves a half folder that the next run would take for the dataset."""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path, PurePosixPath

from filelock import FileLock
from tqdm import tqdm

from descgraph.errors import DataError

CHUNK = 1 << 20


def file_md5(path: Path) -> str:
    """Hex md5 of a file, read in chunks."""
    digest = hashlib.md5()  # the published CIFAR checksums are md5
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def download(url: str, dest: Path, md5: str, timeout: float = 30.0) -> Path:
    """Download `url` to `dest` (through `dest.part`, renamed only once the md5 matches).

    Raises:
        DataError: the network or the server failed, or the checksum does not match.
    """
    part = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - fixed https URLs
            dest.parent.mkdir(parents=True, exist_ok=True)  # only once the server answers
            total = int(response.headers.get("Content-Length") or 0)
            bar = tqdm(total=total, unit="B", unit_scale=True, desc=dest.name, disable=None)
            with open(part, "wb") as out, bar:
                while chunk := response.read(CHUNK):
                    out.write(chunk)
                    bar.update(len(chunk))
    except (OSError, http.client.HTTPException) as e:
        part.unlink(missing_ok=True)
        reason = e.reason if isinstance(e, urllib.error.URLError) else e
        raise DataError(f"{url}: {reason}") from None
    if file_md5(part) != md5:
        part.unlink()
        raise DataError(f"{url}: checksum mismatch (expected md5 {md5})")
    part.replace(dest)
    return dest


def _check_member(member: tarfile.TarInfo, archive: Path) -> None:
    """Refuse members that could land outside the target folder or are not plain files and folders."""
    path = PurePosixPath(member.name)
    if path.is_absolute() or ".." in path.parts:
        raise DataError(f"{archive}: unsafe member path {member.name!r}")
    if not (member.isfile() or member.isdir()):
        raise DataError(f"{archive}: member {member.name!r} is not a plain file or folder")


def fetch_lock(root: Path, name: str) -> FileLock:
    """The lock that one process holds while it fetches `name` into `root` (the file `root/.name.lock` stays)."""
    root.mkdir(parents=True, exist_ok=True)
    return FileLock(root / f".{name}.lock")


def extract(archive: Path, root: Path) -> None:
    """Extract a tar archive under `root`, refusing absolute paths, '..', links and devices.

    The archive goes into a scratch folder under `root` first; each of its top-level entries is then renamed
    into `root` (an entry already there is kept), so that none appears until it is whole. The caller holds
    `fetch_lock`: scratch folders left by an extraction that was killed are removed first.

    Raises:
        DataError: the archive is damaged or holds an unsafe member, or the extraction failed (disk full).
    """
    try:
        with tarfile.open(archive) as tar:
            members = tar.getmembers()
            for member in members:
                _check_member(member, archive)
            for stale in root.glob(f".{archive.name}.*"):
                shutil.rmtree(stale, ignore_errors=True)
            scratch = Path(tempfile.mkdtemp(prefix=f".{archive.name}.", dir=root))
            try:
                if hasattr(tarfile, "data_filter"):  # Python >= 3.10.12 / 3.11.4: the stdlib check on top of ours
                    tar.extractall(scratch, members=members, filter="data")
                else:
                    tar.extractall(scratch, members=members)  # noqa: S202 - members checked above
                for entry in sorted(scratch.iterdir()):
                    if not (root / entry.name).exists():
                        os.replace(entry, root / entry.name)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
    except (tarfile.TarError, OSError, EOFError) as e:
        raise DataError(f"{archive}: cannot extract ({e})") from None
