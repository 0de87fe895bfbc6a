"""One exception family: every error a user can act on is a DescgraphError.

The CLI prints such an error as one line and exits 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import unicodedata


class DescgraphError(Exception):
    """Base of every error a user can act on (bad file, bad conf, bad description)."""


class ConfError(DescgraphError):
    """A conf file or override is malformed: names the file and the key path."""


class DescError(DescgraphError):
    """A description is malformed or inconsistent: names the file and the path inside the desc."""


class RegistryError(DescgraphError):
    """A registry lookup or registration failed (unknown or duplicate name)."""


class ExportError(DescgraphError):
    """A model could not be exported or did not verify."""


class DataError(DescgraphError):
    """A dataset is missing, corrupt or misconfigured."""


class CheckpointError(DescgraphError):
    """A checkpoint file is missing, corrupt, or does not fit the model it is loaded into."""


class LutError(DescgraphError):
    """A lookup table is malformed, was made for other settings, or lacks an entry a description needs."""


class OutputError(DescgraphError):
    """An output would destroy something the user has: an input of the same command, a folder, a device."""


class DivergenceError(DescgraphError):
    """Training diverged: a loss or a weight is NaN or infinite (names the stage, the epoch and the step)."""


class ExperimentFolderError(DescgraphError):
    """An experiment folder holds another experiment, or another run is using it."""


class DistributedError(DescgraphError):
    """A data-parallel run cannot start or go on: a bad world size, or a rank that died or timed out."""


def one_line(text: str) -> str:
    """`text` with every control character and line break (a newline, a carriage return, an escape, U+2028...)
    written as its escape (`\\n`, `\\x1b`, `\\u2028`), so that a name holding one cannot turn one error into
    several lines that read like output."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch == " " or not (unicodedata.category(ch)[0] == "C" or unicodedata.category(ch) in ("Zl", "Zp")):
            out.append(ch)
        elif ch in "\n\r\t":
            out.append(repr(ch)[1:-1])
        else:
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 256 else f"\\u{ord(ch):04x}")
    return "".join(out)
