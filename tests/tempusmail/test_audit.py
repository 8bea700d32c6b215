"""The audit log keeps field names, never a secret's: names containing password, secret, hash,
token, key or otp are dropped (docs/security.md)."""

from tempusmail.audit import public_fields


def test_secret_field_names_are_dropped_and_the_rest_kept_sorted():
    fields = [
        "quota_mb",
        "password",
        "new_password2",
        "client_secret",
        "password_hash",
        "api_token",
        "key_hash",
        "api_key",
        "otp_device",
        "TOTP_Seed",
        "first_name",
        "allowed_networks",
    ]
    assert public_fields(fields) == ["allowed_networks", "first_name", "quota_mb"]


def test_each_secret_word_alone_is_enough():
    for word in ("password", "secret", "hash", "token", "key", "otp"):
        assert public_fields([f"my_{word}", f"{word.upper()}x"]) == [], word


def test_names_are_cut_to_64_characters_and_nothing_is_nothing():
    assert public_fields(["n" * 100]) == ["n" * 64]
    assert public_fields(None) == [] and public_fields(()) == []
