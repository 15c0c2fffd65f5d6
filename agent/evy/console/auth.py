"""Who may use the console: accounts from the config (argon2id hashes from the first-boot seed), a lockout
after repeated wrong passwords, sessions in memory and a CSRF token per session.

There is no default password: without an operator hash the console does not start (:func:`accounts`).
Sessions live in this process only, so a restart logs everyone out, which is the safe direction.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass, field
from enum import StrEnum

from evy.config import Config
from evy.errors import EvyError


class ConsoleError(EvyError):
    """The console cannot start (no operator password, an address it cannot listen on)."""


class Role(StrEnum):
    OPERATOR = "operator"  # sees everything and acts
    OBSERVER = "observer"  # sees everything, changes nothing


def accounts(config: Config) -> dict[str, tuple[Role, str]]:
    """Account name → (role, argon2id hash). ConsoleError when there is no operator password."""
    operator = config["console.operator_password_hash"]
    if not operator:
        raise ConsoleError("no operator password: set console.operator_password_hash (the first-boot seed's "
                           "[console] operator_password_hash; `evy console hash-password` makes one)")
    found = {"operator": (Role.OPERATOR, operator)}
    if config["console.observer_password_hash"]:
        found["observer"] = (Role.OBSERVER, config["console.observer_password_hash"])
    return found


def hash_password(password: str) -> str:
    from argon2 import PasswordHasher

    return PasswordHasher().hash(password)


_UNKNOWN_ACCOUNT_HASH: str | None = None


def verify_password(password_hash: str | None, password: str) -> bool:
    """argon2id check; an unknown account is checked against a throwaway hash so it takes as long."""
    from argon2 import PasswordHasher, exceptions

    # argon2-cffi 21.1 (Debian trixie, the image) names it InvalidHash; 23.1 added InvalidHashError.
    invalid_hash = getattr(exceptions, "InvalidHashError", None) or exceptions.InvalidHash
    global _UNKNOWN_ACCOUNT_HASH
    if password_hash is None:
        _UNKNOWN_ACCOUNT_HASH = _UNKNOWN_ACCOUNT_HASH or hash_password(secrets.token_hex(16))
        password_hash, password = _UNKNOWN_ACCOUNT_HASH, password + "\0"
    try:
        return PasswordHasher().verify(password_hash, password)
    except (exceptions.VerifyMismatchError, exceptions.VerificationError, invalid_hash):
        return False


class Lockout:
    """Wrong passwords counted per account and per client address; ``limit`` in a row locks that key for
    ``duration`` seconds. A right password clears the account's and the address's count."""

    def __init__(self, limit: int, duration: float):
        self.limit, self.duration = limit, duration
        self._failures: dict[str, int] = {}
        self._locked_until: dict[str, float] = {}

    def locked_for(self, keys: tuple[str, ...], now: float) -> float:
        """Seconds until every key is unlocked (0: none is locked)."""
        return max((self._locked_until.get(key, 0.0) - now for key in keys), default=0.0) if keys else 0.0

    def failed(self, keys: tuple[str, ...], now: float) -> bool:
        """Count a wrong password; True when that locked a key."""
        locked = False
        for key in keys:
            self._failures[key] = self._failures.get(key, 0) + 1
            if self._failures[key] >= self.limit:
                self._locked_until[key] = now + self.duration
                self._failures[key] = 0
                locked = True
        return locked

    def succeeded(self, keys: tuple[str, ...]) -> None:
        for key in keys:
            self._failures.pop(key, None)


@dataclass
class Session:
    account: str
    role: Role
    expires: float
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    @property
    def may_act(self) -> bool:
        return self.role is Role.OPERATOR

    def csrf_ok(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token.encode(), self.csrf.encode())


class Sessions:
    def __init__(self, lifetime: float):
        self.lifetime = lifetime
        self._by_token: dict[str, Session] = {}

    def start(self, account: str, role: Role, now: float | None = None) -> tuple[str, Session]:
        now = time.time() if now is None else now
        self._by_token = {token: s for token, s in self._by_token.items() if s.expires > now}
        token = secrets.token_urlsafe(32)
        session = Session(account, role, now + self.lifetime)
        self._by_token[token] = session
        return token, session

    def get(self, token: str | None, now: float | None = None) -> Session | None:
        if not token:
            return None
        session = self._by_token.get(token)
        if session is None or session.expires <= (time.time() if now is None else now):
            self._by_token.pop(token, None)
            return None
        return session

    def end(self, token: str | None) -> None:
        if token:
            self._by_token.pop(token, None)
