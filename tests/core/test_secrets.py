from genlens.backends.base import is_secret_arg, public_params


def test_secret_names_are_matched_by_whole_parts() -> None:
    for name in ("api_key", "key", "API-KEY", "apiKey", "access_token", "token", "client_secret", "password", "Authorization"):
        assert is_secret_arg(name), name
    for name in ("max_tokens", "keyframes", "monkey", "tokens_per_image", "size", "base_url"):
        assert not is_secret_arg(name), name
    assert public_params({"api_key": "x", "max_tokens": 5}) == {"max_tokens": 5}
