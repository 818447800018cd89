"""The head shared by judged suites that can send upstream's own judge text and read answers upstream's way."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from genlens.args import Arg
from genlens.errors import InputError, SpecError
from genlens.suites.base import Suite
from genlens.types import Item

PROMPT_CHOICES = ("genlens", "official")


class OfficialTextJudgedSuite(Suite):
    """A judged suite: genlens's wording or upstream's fetched text (``prompt=``), genlens's or upstream's reader (``parse=``).

    Subclasses read :attr:`prompt_choice` and fill :attr:`_items` lazily.
    """

    uses = frozenset({"judge"})
    args = (Arg("prompt", "choice", "genlens", "judge prompt wording (official: the upstream text, fetched)", "official",
                choices=PROMPT_CHOICES),)
    scorer_args = (Arg("parse", "choice", "genlens", "answer reader: genlens (strict) or official (the upstream script's)",
                       "official", choices=PROMPT_CHOICES),)

    def __init__(self, data_dir: Path | None = None, suite_args: dict[str, Any] | None = None):
        super().__init__(data_dir, suite_args)
        prompt = str(self.suite_args.get("prompt", "genlens"))
        if prompt not in PROMPT_CHOICES:  # the Python API can build a suite without the CLI's typed-arg check
            raise SpecError(f"unknown --suite-arg prompt={prompt}", fix="use prompt=genlens (default) or prompt=official")
        self.prompt_choice = prompt
        self._items: list[Item] | None = None

    def fetched_texts(self, constants: Mapping[str, str], *, benchmark: str, source: str) -> dict[str, str]:
        """Upstream's judge texts as ``genlens data fetch <suite>`` wrote them: key -> ``judge_prompts/<constant>.txt``.

        Read from ``--data-dir``'s ``judge_prompts/`` when it has one, else from the fetch cache; a missing
        file is one line naming the fetch command (``source``: the upstream file the texts come from).
        """
        from genlens.data.fetch import data_root

        own = self.data_dir / "judge_prompts" if self.data_dir else None
        folder = own if own is not None and own.is_dir() else data_root() / self.meta.name / "judge_prompts"
        out = {}
        for key, constant in constants.items():
            path = folder / f"{constant}.txt"
            if not path.is_file():
                raise InputError(f"{benchmark}'s official judge texts are not fetched", path=path,
                                 fix=f"run `genlens data fetch {self.meta.name}` (reads them from {source} at the pinned commit)")
            out[key] = path.read_text(encoding="utf-8")
        return out
