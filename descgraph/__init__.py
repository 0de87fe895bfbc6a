"""descgraph: a description-driven neural architecture search compiler."""

from __future__ import annotations

from descgraph.errors import ConfError, DataError, DescError, DescgraphError, ExportError, RegistryError

__version__ = "0.1.0"

__all__ = ["ConfError", "DataError", "DescError", "DescgraphError", "ExportError", "RegistryError", "__version__"]
