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
