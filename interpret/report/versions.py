"""The versions of the libraries a result depends on, read from the installed packages' metadata (nothing is
imported: reading torch's version costs no torch import)."""
from __future__ import annotations

from importlib import metadata

import interpret as package  # the package's own version (`__version__`: "0+unknown" in a bare checkout)

LIBRARIES = ("torch", "torchvision", "timm", "transformers", "captum", "numpy", "pillow", "matplotlib", "streamlit")


def library_versions(names: tuple[str, ...] = LIBRARIES) -> tuple[tuple[str, str], ...]:
    """(name, version) of interpret and of each installed library of `names`; the missing ones are left out."""
    found = [("interpret", package.__version__)]
    for name in names:
        try:
            found.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            continue
    return tuple(found)
