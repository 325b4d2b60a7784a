"""HS256 tokens for customers, agents and services.

Real deployments mint customer tokens in the bank app's backend with the shared secret
(``sub`` = customer id, ``exp``); the demo endpoint mints them for seeded customers only.
Only HS256 is accepted: a token signed with another algorithm (``none``, RS256 with the
secret as a public key, …) is rejected.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import jwt

from bot.errors import AuthError

Scope = Literal["customer", "agent", "service"]
ALGORITHM = "HS256"
ISSUER = "cardcare"


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    """Who a verified token speaks for."""

    subject: str
    scope: Scope
    expires_at: int


class TokenService:
    """Mint and verify HS256 JWTs with explicit scopes, expiry and clock-skew leeway."""

    def __init__(
        self, secret: str, *, ttl_s: int = 3600, leeway_s: int = 30, clock: Callable[[], float] = time.time
    ) -> None:
        if len(secret) < 16:
            raise ValueError("token secret too short")
        self._secret = secret
        self._ttl_s = ttl_s
        self._leeway_s = leeway_s
        self._clock = clock

    def mint(self, subject: str, scope: Scope, *, ttl_s: int | None = None) -> tuple[str, int]:
        """Return ``(token, expires_at)`` for ``subject`` in ``scope``."""
        now = int(self._clock())
        exp = now + (ttl_s if ttl_s is not None else self._ttl_s)
        claims = {"sub": subject, "scope": scope, "iat": now, "exp": exp, "iss": ISSUER}
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM), exp

    def seconds_left(self, principal: Principal) -> float:
        """How long ``principal``'s token stays valid (with the same leeway :meth:`verify` allows)."""
        return principal.expires_at + self._leeway_s - self._clock()

    def verify(self, token: str | None, *, scope: Scope) -> Principal:
        """Verify signature, algorithm, expiry and scope; raise ``AuthError`` otherwise.

        Customer tokens minted by a bank backend may omit ``scope`` and ``iss``: a token
        without a scope is a customer token.
        """
        if not token or not isinstance(token, str):
            raise AuthError("missing token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise AuthError("malformed token") from exc
        if header.get("alg") != ALGORITHM:
            raise AuthError(f"token algorithm {header.get('alg')!r} is not accepted")
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                leeway=self._leeway_s,
                options={"require": ["exp", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("token expired") from exc
        except jwt.PyJWTError as exc:
            raise AuthError("invalid token") from exc
        # PyJWT checks exp against the wall clock; re-check against the injected clock.
        if int(claims["exp"]) + self._leeway_s < self._clock():
            raise AuthError("token expired")
        iat = claims.get("iat")
        if isinstance(iat, int | float) and iat - self._leeway_s > self._clock():
            raise AuthError("token issued in the future")
        token_scope = claims.get("scope", "customer")
        if token_scope != scope:
            raise AuthError(f"token scope {token_scope!r} cannot be used here")
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject:
            raise AuthError("token subject missing")
        return Principal(subject=subject, scope=scope, expires_at=int(claims["exp"]))
