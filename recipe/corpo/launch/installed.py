"""Which release of a distribution is installed (``None`` when it is not): one place for the
preflight's and the CPU backend's checks."""

from __future__ import annotations

import importlib.metadata


def installed_version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
