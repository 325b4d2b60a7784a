"""The evaluation suites, by name, in the order ``cardcare eval all`` runs them.

Each suite is a module with ``NAME``, ``DESCRIPTION`` and ``async def run(ctx) -> SuiteResult``
(see ``evals.report``). Modules are imported on first use, so one suite that is missing or
fails to import does not break the command line or the others.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from importlib import import_module
from types import ModuleType

ORDER = ("intents", "retrieval", "answers", "dialogues", "redteam", "service", "bench")


class SuiteUnavailable(ImportError):
    """A suite's module cannot be imported here."""


class _Registry(Mapping[str, ModuleType]):
    """``name -> module``, importing ``evals.suites.<name>`` when first looked up."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self._names = names
        self._modules: dict[str, ModuleType] = {}
        self.extra: dict[str, ModuleType] = {}  # suites registered at run time (tests, plug-ins)

    def __getitem__(self, name: str) -> ModuleType:
        if name in self.extra:
            return self.extra[name]
        if name not in self._names:
            raise KeyError(name)
        if name not in self._modules:
            try:
                self._modules[name] = import_module(f"evals.suites.{name}")
            except ImportError as exc:
                raise SuiteUnavailable(f"suite {name!r} cannot be imported: {exc}") from exc
        return self._modules[name]

    def __iter__(self) -> Iterator[str]:
        yield from self._names
        yield from (n for n in self.extra if n not in self._names)

    def __len__(self) -> int:
        return len(self._names) + sum(1 for n in self.extra if n not in self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._names or name in self.extra

    def register(self, module: ModuleType) -> None:
        """Add (or replace) a suite module under its ``NAME``."""
        self.extra[str(module.NAME)] = module

    def unregister(self, name: str) -> None:
        self.extra.pop(name, None)


SUITES: _Registry = _Registry(ORDER)

__all__ = ["ORDER", "SUITES", "SuiteUnavailable"]
