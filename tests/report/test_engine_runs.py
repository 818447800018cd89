"""Real run directories made by the engine (image-props on two synthetic models) through the html report."""

from __future__ import annotations

import json
import re
from pathlib import Path

from markupsafe import escape


def test_two_models_from_the_engine_make_one_page(cli, tmp_path: Path) -> None:
    runs = []
    for pattern in ("gradient", "blank"):  # blank images fail image-props' not-blank rule
        out = tmp_path / f"props_{pattern}"
        result = cli("run", "image-props", "--model", f"synthetic:{pattern}", "--out", out, "--limit", "4", "--quiet")
        assert result.exit_code == 0, result.output
        runs.append(out)
    page = tmp_path / "report.html"
    assert cli("report", *runs, "--format", "html", "--out", page).exit_code == 0
    html = page.read_text(encoding="utf-8")
    rows = [json.loads(line) for line in (runs[0] / "rows.jsonl").read_text().splitlines()]
    assert len(rows) == 4
    # 4 items × 2 runs aligned by item, and beside them the per-run gallery's 2 per side and category (each run
    # passes or fails everything, so one side per category); an image shown in both is embedded in each place
    per_category: dict[str, int] = {}
    for row in rows:
        per_category[row["category"]] = per_category.get(row["category"], 0) + 1
    assert html.count("data:image/webp;base64,") == 8 + 2 * sum(min(2, n) for n in per_category.values())
    assert html.count('class="aligned-row"') == 4
    results = [json.loads((r / "results.json").read_text()) for r in runs]
    assert results[0]["headline"]["pass_rate"] == 1.0 and results[1]["headline"]["pass_rate"] == 0.0
    # the comparison: gradient passes all 4, blank fails all 4 -> McNemar b=4, c=0 -> p = 2/16 = 0.125
    comparison = re.search(r"McNemar exact \(two-sided\)</td><td class=\"num\" data-value=\"([0-9.]+)\"", html)
    assert comparison and float(comparison.group(1)) == 0.125
    blank_rows = [json.loads(line) for line in (runs[1] / "rows.jsonl").read_text().splitlines()]
    reason = str(escape(blank_rows[0]["reason"]))  # "blank (luminance std 0.00 &lt; 2.0)"
    assert f'<div class="reason">{reason}</div>' in html  # why it failed, beside the image
    assert re.search(r'<li><span class="count">\d+×</span> ' + re.escape(reason) + "</li>", html)  # most common reasons
