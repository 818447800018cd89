from genlens.backends.base import is_secret_arg, public_params


def test_secret_names_are_matched_by_whole_parts() -> None:
    for name in ("api_key", "key", "API-KEY", "apiKey", "access_token", "token", "client_secret", "password", "Authorization"):
        assert is_secret_arg(name), name
    for name in ("max_tokens", "keyframes", "monkey", "tokens_per_image", "size", "base_url"):
        assert not is_secret_arg(name), name
    assert public_params({"api_key": "x", "max_tokens": 5}) == {"max_tokens": 5}


def test_env_secrets_sees_keys_set_after_the_first_call(monkeypatch) -> None:
    """Only variable-name classification is remembered; values are read from the environment every call."""
    from genlens.redact import env_secrets

    monkeypatch.delenv("LATE_API_KEY", raising=False)
    assert "sk-late-value-1234567890" not in env_secrets()
    monkeypatch.setenv("LATE_API_KEY", "sk-late-value-1234567890")
    assert "sk-late-value-1234567890" in env_secrets()
    monkeypatch.setenv("LATE_API_KEY", "sk-changed-value-0987654321")
    secrets = env_secrets()
    assert "sk-changed-value-0987654321" in secrets and "sk-late-value-1234567890" not in secrets


def test_scrubbed_json_is_the_text_of_scrub_value_whatever_the_value():
    """The stored-row fast path: clean values are not walked, and the text is always what scrubbing gives."""
    import json

    from genlens.redact import scrub_value, scrubbed_json

    secrets = ["sk-live-abcdef0123456789", 'pa"ss\\word-with-escapes-0123']
    values = [
        {"images": ["images/00001_s0.png"], "meta": {"latency_s": 0.5, "batch": 8}, "reason": ""},
        {"reason": "HTTP 401 for key sk-live-abcdef0123456789", "meta": {}},
        {"reason": 'echoed pa"ss\\word-with-escapes-0123 back', "list": ["x", 'pa"ss\\word-with-escapes-0123']},
        {"sk-live-abcdef0123456789": "a secret as a key"},
        {"url": "https://user:pw@example.invalid/v1", "note": "ünïcode stays"},
        {"object": object.__name__, "number": 3, "none": None},
    ]
    for value in values:
        assert scrubbed_json(value, secrets) == json.dumps(scrub_value(value, secrets), ensure_ascii=False, default=str)
    assert "sk-live" not in scrubbed_json(values[1], secrets)
    assert "word-with-escapes" not in scrubbed_json(values[2], secrets)
    assert "pw@" not in scrubbed_json(values[4], secrets)
