"""Agreement statistics against hand-computed values, and `genlens judges agree` end to end."""

from __future__ import annotations

import json

import pytest

from genlens.judges.agreement import average_ranks, cohen_kappa, compare, mean_abs_diff, spearman
from genlens.testing.fake_chat import FakeChat
from genlens.testing.http import FakeServer
from tests.judges.wise_fixture import scripted_answer, write_images, write_wise_data


def test_average_ranks_share_ties():
    # 5, 6, 7, 8, 7 -> sorted 5 6 7 7 8: the two 7s share ranks 3 and 4 -> 3.5
    assert average_ranks([5, 6, 7, 8, 7]).tolist() == [1, 2, 3.5, 5, 3.5]


def test_spearman_by_hand():
    # ranks x = 1..5, ranks y = [1, 2, 3.5, 5, 3.5]; deviations dx = [-2,-1,0,1,2], dy = [-2,-1,0.5,2,0.5]
    # Σdx·dy = 4+1+0+2+1 = 8; Σdx² = 10; Σdy² = 4+1+0.25+4+0.25 = 9.5; ρ = 8 / √95 = 0.820783
    assert spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) == pytest.approx(8 / 95 ** 0.5)
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 2, 3], [2, 2, 2]) is None and spearman([1], [1]) is None


def test_cohen_kappa_by_hand():
    # a = 0 1 2 2 1 0, b = 0 1 2 1 1 2: agree at 4 of 6 -> p_o = 2/3
    # marginals a: 2/6 each; b: 0 1/6, 1 3/6, 2 2/6 -> p_e = (2·1 + 2·3 + 2·2)/36 = 1/3
    # κ = (2/3 − 1/3) / (1 − 1/3) = 0.5
    assert cohen_kappa([0, 1, 2, 2, 1, 0], [0, 1, 2, 1, 1, 2]) == pytest.approx(0.5)
    assert cohen_kappa([1, 0, 1], [1, 0, 1]) == pytest.approx(1.0)
    # complete disagreement on a balanced binary set: p_o = 0, p_e = 0.5 -> κ = −1
    assert cohen_kappa([0, 1], [1, 0]) == pytest.approx(-1.0)
    assert cohen_kappa([1, 1], [1, 1]) is None  # p_e = 1: undefined


def test_mean_abs_diff_and_compare():
    # |0−0| + |1−1| + |2−2| + |2−1| + |1−1| + |0−2| = 3 over 6 -> 0.5; exact 4/6
    stats = compare([0, 1, 2, 2, 1, 0], [0, 1, 2, 1, 1, 2])
    assert stats["mad"] == pytest.approx(0.5) and stats["exact"] == pytest.approx(4 / 6) and stats["n"] == 6
    assert mean_abs_diff([], []) is None


def test_agree_command_on_a_wise_run(cli, tmp_path):
    data = write_wise_data(tmp_path / "data")
    images = write_images(tmp_path / "images")
    generous = "Consistency: 2\nRealism: 2\nAesthetic Quality: 1"
    with FakeServer() as server:
        FakeChat(server, answer=scripted_answer, by_model={"judge-b": lambda _text: generous})
        base = f"base_url={server.url}/v1"
        assert cli("run", "wise", "--model", f"folder:{images}", "--judge", "openai:gpt-4o-2024-05-13", "--data-dir", data,
                   "--out", tmp_path / "run", "--scorer-arg", base, "--quiet").exit_code == 0
        server.log.clear()
        result = cli("judges", "agree", tmp_path / "run", "--judges", "openai:gpt-4o-2024-05-13,openai:judge-b",
                     "--sample", "9", "--scorer-arg", base, "--json")
        assert result.exit_code == 0, result.output
        asked = [json.loads(r.body)["model"] for r in server.log]
    assert asked == ["judge-b"] * 9  # judge A's answers came from the cache
    report = json.loads(result.stdout)
    assert report["sample"] == 9 and report["both_readable"] == 7
    assert report["readable"] == {"openai:gpt-4o-2024-05-13": 7, "openai:judge-b": 9}
    # judge A's consistency on the 7 readable images: 2 1 0 2 1 2 0; judge B says 2 every time
    # MAD = (0+1+2+0+1+0+2)/7 = 6/7; exact 3/7; κ: p_o = 3/7, p_e = (3/7)·1 -> 0; ρ undefined (B constant)
    consistency = report["criteria"]["Consistency"]
    assert consistency["mad"] == pytest.approx(6 / 7) and consistency["exact"] == pytest.approx(3 / 7)
    assert consistency["kappa"] == pytest.approx(0.0) and consistency["spearman"] is None
    # the run still remembers its own judge
    assert json.loads((tmp_path / "run" / "judge.json").read_text())["judge"] == "openai:gpt-4o-2024-05-13"


def test_quadratic_kappa_by_hand():
    # a = 0 1 2 2 1 0, b = 0 1 2 1 1 2; weights (i−j)²: observed Σw·O = 1 (2 vs 1) + 4 (0 vs 2) = 5 counts;
    # marginals a (2, 2, 2), b (1, 3, 2): expected Σw·a_i·b_j/n = (2·3·1 + 2·2·4 + 2·1·1 + 2·2·1 + 2·1·4 + 2·3·1)/6 = 7
    # κ_w = 1 − 5/7 = 2/7 (unweighted κ on the same pairs: 0.5)
    assert cohen_kappa([0, 1, 2, 2, 1, 0], [0, 1, 2, 1, 1, 2], weights="quadratic") == pytest.approx(2 / 7)
    stats = compare([0, 1, 2, 2, 1, 0], [0, 1, 2, 1, 1, 2])
    assert stats["kappa_quadratic"] == pytest.approx(2 / 7)
    # six pairs: no interval (fewer than 10 units), said so
    assert stats["intervals"] == {} and stats["intervals_note"].startswith("no interval: 6 image pairs")


def test_bootstrap_intervals_of_perfect_agreement_are_points():
    scores = [0, 1, 2] * 7  # 21 pairs, the judges always agree: every resample has ρ = κ = κ_w = 1
    stats = compare(scores, scores)
    assert {k: pytest.approx(v) for k, v in stats["intervals"].items()} == \
        {"spearman": [1.0, 1.0], "kappa": [1.0, 1.0], "kappa_quadratic": [1.0, 1.0]}
    # one judge constant: ρ undefined in every resample -> no interval rather than a made-up one
    assert compare(scores, [2] * 21)["intervals"]["spearman"] is None


def test_judge_arg_sends_each_judge_to_its_own_server(cli, tmp_path):
    data = write_wise_data(tmp_path / "data")
    images = write_images(tmp_path / "images")
    with FakeServer() as first, FakeServer() as second:
        FakeChat(first, answer=scripted_answer)
        FakeChat(second, answer=lambda _text: "Consistency: 2\nRealism: 2\nAesthetic Quality: 1")
        assert cli("run", "wise", "--model", f"folder:{images}", "--judge", "openai:gpt-4o-2024-05-13", "--data-dir", data,
                   "--out", tmp_path / "run", "--scorer-arg", f"base_url={first.url}/v1", "--quiet").exit_code == 0
        first.log.clear()
        result = cli("judges", "agree", tmp_path / "run", "--judges", "openai:gpt-4o-2024-05-13,openai:judge-b",
                     "--sample", "9", "--scorer-arg", f"base_url={first.url}/v1",
                     "--judge-arg", f"B:base_url={second.url}/v1", "--json")
        assert result.exit_code == 0, result.output
        assert first.log == [] and len(second.log) == 9  # A from the cache, B only on its own server
        bad = cli("judges", "agree", tmp_path / "run", "--judges", "openai:a,openai:b", "--judge-arg", "C:x=1")
    assert bad.exit_code == 2 and "A:key=value or B:key=value" in bad.stderr
    report = json.loads(result.stdout)
    # judge B constant (2) on consistency: κ_w = 0 (observed = expected), no interval from 7 pairs
    consistency = report["criteria"]["Consistency"]
    assert consistency["kappa_quadratic"] == pytest.approx(0.0)
    assert consistency["intervals_note"] == "no interval: 7 image pairs (a bootstrap needs at least 10 to say anything)"


def test_agree_needs_two_judges(cli, tmp_path):
    result = cli("judges", "agree", tmp_path, "--judges", "openai:a")
    assert result.exit_code == 2 and "two judge specs" in result.stderr
