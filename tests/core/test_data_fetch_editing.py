def test_reason_edit_fetch_explains_where_the_data_comes_from(cli) -> None:
    r = cli("data", "fetch", "reason-edit")
    assert r.exit_code == 2 and "no pinned public download" in r.output and "--data-dir" in r.output


def test_gedit_fetch_offline_is_one_line(cli, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    r = cli("data", "fetch", "gedit", "--revision", "0123456789abcdef")
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert "GEdit" in r.output or "stepfun-ai/GEdit-Bench" in r.output
