"""kris and rise read upstream's fetched judge texts the same way: --data-dir's judge_prompts/, else the fetch cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from genlens.errors import InputError
from genlens.suites.base import get_suite_class


@pytest.mark.parametrize(("suite", "benchmark", "source"), [
    ("kris", "KRIS-Bench", "utils/prompts.py"), ("rise", "RISEBench", "utils.py"),
])
def test_unfetched_official_texts_are_one_line_naming_the_fetch(suite: str, benchmark: str, source: str,
                                                                tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENLENS_DATA_DIR", str(tmp_path / "cache"))
    obj = get_suite_class(suite)(data_dir=tmp_path / "data", suite_args={"prompt": "official"})
    with pytest.raises(InputError) as info:
        obj.texts()
    assert info.value.message == f"{benchmark}'s official judge texts are not fetched"
    assert info.value.fix == f"run `genlens data fetch {suite}` (reads them from {source} at the pinned commit)"
    assert str(tmp_path / "cache" / suite / "judge_prompts") in str(info.value.path)  # no judge_prompts/ in --data-dir


@pytest.mark.parametrize("suite", ["kris", "rise"])
def test_data_dir_judge_prompts_win_over_the_cache(suite: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from genlens.suites import kris, rise

    constants = kris.OFFICIAL_OF if suite == "kris" else rise.OFFICIAL_NAMES
    monkeypatch.setenv("GENLENS_DATA_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "data" / "judge_prompts"
    folder.mkdir(parents=True)
    for key, constant in constants.items():
        (folder / f"{constant}.txt").write_text(f"text of {key}", encoding="utf-8")
    obj = get_suite_class(suite)(data_dir=tmp_path / "data", suite_args={"prompt": "official"})
    assert obj.texts() == {key: f"text of {key}" for key in constants}
