"""Import every public module of a package once, and the plugin registry suites and backends share."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def import_submodules(package_name: str) -> None:
    """Import ``package_name.<module>`` for each module not starting with "_" and not ``base``."""
    package = importlib.import_module(package_name)
    for module in pkgutil.iter_modules(package.__path__):
        if not module.name.startswith("_") and module.name != "base":
            importlib.import_module(f"{package_name}.{module.name}")


class PluginRegistry(Generic[T]):
    """A package's own modules plus the classes of an entry-point group, discovered once, on first use.

    Built-ins register themselves on import (``register``); a plugin whose entry point fails to load,
    or that ``check`` refuses, is remembered with why (``errors``) and never breaks the built-ins.
    """

    def __init__(self, package: str, group: str, check: Callable[[Any], str | None] | None = None) -> None:
        self.package, self.group, self.check = package, group, check
        self.entries: dict[str, T] = {}
        self.failures: dict[str, str] = {}
        self.discovered = False

    def register(self, key: str, cls: T) -> None:
        self.entries[key] = cls

    def discover(self) -> None:
        if self.discovered:
            return
        self.discovered = True
        import_submodules(self.package)
        from importlib.metadata import entry_points

        for ep in entry_points(group=self.group):
            if ep.name in self.entries:
                continue
            try:
                cls = ep.load()
            except Exception as exc:  # a broken plugin must not break the built-ins
                self.failures[ep.name] = f"{type(exc).__name__}: {exc}"
                continue
            refusal = self.check(cls) if self.check else None
            if refusal:
                self.failures[ep.name] = f"{ep.value} {refusal}"
                continue
            self.entries[ep.name] = cls

    def classes(self) -> dict[str, T]:
        """Every registered class by name, sorted."""
        self.discover()
        return dict(sorted(self.entries.items()))

    def errors(self) -> dict[str, str]:
        """Entry points that failed to load, with why."""
        self.discover()
        return dict(self.failures)

    @contextmanager
    def rediscovered(self) -> Iterator[None]:
        """Discover entry points again inside the block, then restore what was registered (for tests)."""
        self.discover()
        saved = dict(self.entries), dict(self.failures)
        self.discovered = False
        try:
            yield
        finally:
            self.entries.clear()
            self.entries.update(saved[0])
            self.failures.clear()
            self.failures.update(saved[1])
            self.discovered = True
