from genlens.report.summary import category_value


def test_category_value_never_shows_a_count_as_the_score() -> None:
    # WiScore missing in a category with 3 unparsed verdicts: the cell stays empty.
    assert category_value({"wiscore": None, "n": 0, "unparsed": 3}, "wiscore") is None
    assert category_value({"wiscore": 0.5, "n": 4}, "wiscore") == 0.5
    # no preferred metric: the first numeric non-count metric
    assert category_value({"n": 9, "unparsed": 2, "pass_rate": 0.25}, None) == 0.25
    assert category_value({"n": 9, "n_images": 3}, "overall") is None


def test_line_chart_with_a_curve_of_only_missing_values() -> None:
    from genlens.report.plots import line_chart

    svg = str(line_chart([("judge success", [1, 2, 3, 4], [None, None, None, None])], title="rounds"))
    assert svg.startswith("<svg") and "rounds" in svg
