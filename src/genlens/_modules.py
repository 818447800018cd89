"""Import every public module of a package once: how suites and backends register themselves."""

from __future__ import annotations

import importlib
import pkgutil


def import_submodules(package_name: str) -> None:
    """Import ``package_name.<module>`` for each module not starting with "_" and not ``base``."""
    package = importlib.import_module(package_name)
    for module in pkgutil.iter_modules(package.__path__):
        if not module.name.startswith("_") and module.name != "base":
            importlib.import_module(f"{package_name}.{module.name}")
