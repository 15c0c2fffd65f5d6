"""The image takes argon2-cffi from Debian trixie (21.1), whose exceptions module has InvalidHash but not
InvalidHashError (23.1): the login must work with both. A booted kit answered every login with a 500 before."""

from __future__ import annotations

from argon2 import exceptions

from evy.console.auth import hash_password, verify_password


def test_a_login_works_with_the_exceptions_of_argon2_cffi_21(monkeypatch):
    monkeypatch.delattr(exceptions, "InvalidHashError", raising=False)
    monkeypatch.setattr(exceptions, "InvalidHash", getattr(exceptions, "InvalidHash", ValueError), raising=False)
    good = hash_password("field-kit")
    assert verify_password(good, "field-kit")
    assert not verify_password(good, "wrong")
    assert not verify_password("$argon2id$not-a-hash", "field-kit")
    assert not verify_password(None, "field-kit")
