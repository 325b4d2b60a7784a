"""Who calls: real tokens minted with the server's secret, and forged ones an attacker could make.

A forged token says what the operation needs (the right subject and scope) and fails on one
point only: it expired, it names another algorithm, it is unsigned, or it was signed with
another key. That way a row of the matrix shows the server rejects the token for that one
reason, not because of a wrong scope as well.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any, Literal

Needs = Literal["customer", "agent", "service"] | None

ISSUER = "cardcare"
OTHER_SECRET = "another-deployment-" + "k" * 40

# The principals of the matrix, in the order of its columns.
CUST_A = "cust_a"  # C001, owns the handed-off conversation
CUST_B = "cust_b"  # C002, another customer
AGENT_ASSIGNED = "agent_assigned"  # zhangmin, holds the conversation
AGENT_OTHER_QUEUE = "agent_other_queue"  # tom: English-only risk agent, the zh chat is never in his queue
AGENT_NOT_ASSIGNED = "agent_not_assigned"  # emily: could have taken it, but zhangmin claimed it
SUPERVISOR = "supervisor"  # chenjing
SERVICE = "service"  # a back-end service (the understanding API's client)
ANONYMOUS = "anonymous"  # no token at all
EXPIRED = "expired"  # the right subject and scope, expired beyond the clock-skew leeway
ALG_HS512 = "alg_hs512"  # signed with the right secret, but HS512
ALG_NONE = "alg_none"  # unsigned, header alg "none"
ALG_RS256 = "alg_rs256"  # header says RS256, HMAC-signed with the secret (key confusion)
FOREIGN_KEY = "foreign_key"  # HS256 with another deployment's secret
CUSTOMER_AS_AGENT = "customer_scope_agent_id"  # a customer token whose subject is an agent id
AGENT_AS_CUSTOMER = "agent_scope_customer_id"  # an agent token whose subject is a customer id

PRINCIPALS: tuple[str, ...] = (
    CUST_A, CUST_B, AGENT_ASSIGNED, AGENT_OTHER_QUEUE, AGENT_NOT_ASSIGNED, SUPERVISOR, SERVICE,
    ANONYMOUS, EXPIRED, ALG_HS512, ALG_NONE, ALG_RS256, FOREIGN_KEY, CUSTOMER_AS_AGENT, AGENT_AS_CUSTOMER,
)

FIXED: dict[str, tuple[str, str]] = {
    CUST_A: ("C001", "customer"),
    CUST_B: ("C002", "customer"),
    AGENT_ASSIGNED: ("zhangmin", "agent"),
    AGENT_OTHER_QUEUE: ("tom", "agent"),
    AGENT_NOT_ASSIGNED: ("emily", "agent"),
    SUPERVISOR: ("chenjing", "agent"),
    SERVICE: ("svc-nlu", "service"),
    CUSTOMER_AS_AGENT: ("zhangmin", "customer"),
    AGENT_AS_CUSTOMER: ("C001", "agent"),
}
DEFAULT_SUBJECT = {"customer": "C001", "agent": "zhangmin", "service": "svc-nlu"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign(
    header: dict[str, Any], claims: dict[str, Any], key: str | None, digest: Any = hashlib.sha256
) -> str:
    """A compact JWS built by hand, so the header can say anything (``key=None``: no signature)."""
    signing_input = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
    if key is None:
        return signing_input + "."
    mac = hmac.new(key.encode(), signing_input.encode("ascii"), digest).digest()
    return signing_input + "." + _b64(mac)


def claims_for(subject: str, scope: str, *, exp_in: int = 600) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": subject, "scope": scope, "iat": now - 5, "exp": now + exp_in, "iss": ISSUER}


def token_for(principal: str, needs: Needs, secret: str) -> str | None:
    """The bearer token ``principal`` presents to an operation that needs a ``needs`` token."""
    if principal == ANONYMOUS:
        return None
    hs256 = {"alg": "HS256", "typ": "JWT"}
    if principal in FIXED:
        subject, scope = FIXED[principal]
        return sign(hs256, claims_for(subject, scope), secret)
    scope = needs or "customer"
    claims = claims_for(DEFAULT_SUBJECT[scope], scope)
    match principal:
        case "expired":
            return sign(hs256, {**claims, "iat": claims["iat"] - 3600, "exp": int(time.time()) - 120}, secret)
        case "alg_hs512":
            return sign({"alg": "HS512", "typ": "JWT"}, claims, secret, hashlib.sha512)
        case "alg_none":
            return sign({"alg": "none", "typ": "JWT"}, claims, None)
        case "alg_rs256":
            return sign({"alg": "RS256", "typ": "JWT"}, claims, secret)
        case "foreign_key":
            return sign(hs256, claims, OTHER_SECRET)
    raise AssertionError(f"unknown principal {principal!r}")
