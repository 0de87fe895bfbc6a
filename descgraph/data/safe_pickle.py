"""Reading numpy-array pickles (the CIFAR batch format) without running any code they carry.

A restricted unpickler resolves globals from a fixed table of the numpy callables that rebuild
arrays; it never imports a module, so `os.system` and friends are refused, not executed.
"""

from __future__ import annotations

import codecs
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from descgraph.errors import DataError

_RECONSTRUCT = np.zeros(1).__reduce__()[0]  # numpy's array rebuilder, wherever this numpy keeps it
_SCALAR = np.int64(0).__reduce__()[0]  # numpy's scalar rebuilder (labels pickled as numpy ints)


def _latin1_encode(text: str, encoding: str) -> bytes:
    """`_codecs.encode` as numpy uses it under protocol 2 (array bytes stored as latin-1 text), nothing else."""
    if codecs.lookup(encoding).name != "iso8859-1":
        raise pickle.UnpicklingError(f"refused _codecs.encode with encoding {encoding!r}")
    return codecs.encode(text, "latin-1")


def _plain_dtype(*args: Any) -> np.dtype:
    """`numpy.dtype` for plain data only: an object dtype could carry arbitrary objects."""
    dtype = np.dtype(*args)
    if dtype.hasobject:
        raise pickle.UnpicklingError(f"refused object dtype {dtype}")
    return dtype


_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy.core.multiarray", "scalar"): _SCALAR,
    ("numpy._core.multiarray", "scalar"): _SCALAR,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _plain_dtype,
    ("_codecs", "encode"): _latin1_encode,
}


class ArraysOnlyUnpickler(pickle.Unpickler):
    """Rebuilds dicts, lists, strings, bytes, numbers and numpy arrays; any other global is refused."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refused global {module}.{name}") from None


def load_array_pickle(path: Path) -> Any:
    """The object in the pickle at `path`, decoded with `encoding="bytes"` like the CIFAR originals.

    Raises:
        DataError: the file is missing, unreadable, refers to a refused global, or is damaged.
    """
    try:
        with open(path, "rb") as f:
            return ArraysOnlyUnpickler(f, encoding="bytes").load()
    except FileNotFoundError:
        raise DataError(f"{path}: missing file") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    except Exception as e:  # a damaged or hostile pickle fails in many ways; each means "not a valid file"
        raise DataError(f"{path}: not a readable array pickle ({type(e).__name__}: {e})") from None
