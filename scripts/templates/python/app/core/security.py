"""Bearer-token authentication as in every Portico service: JWTs (RFC 7519, ES256) verified
against the issuer's JWK Set (RFC 7517) with PyJWT, with the system's issuer and audience."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.core.problems import HttpProblem

KeyResolver = Callable[[str], Awaitable[Any]]
"""The verification key of a ``kid`` (raises or returns None when unknown)."""


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: the token's ``sub`` and ``role``."""

    user_id: str
    role: str


def jwks_resolver(url: str) -> KeyResolver:
    """Keys from the JWK Set at ``url``, fetched (in a worker thread) when a ``kid`` is unknown."""
    client = jwt.PyJWKClient(url, timeout=2)

    async def resolve(kid: str) -> Any:
        return (await asyncio.to_thread(client.get_signing_key, kid)).key

    return resolve


@dataclass(frozen=True)
class TokenVerifier:
    """Verifies access tokens: signature (ES256), ``iss``, ``aud`` and expiry."""

    keys: KeyResolver
    issuer: str
    audience: str

    async def verify(self, token: str) -> Principal:
        """The token's principal.

        Raises:
            HttpProblem: 401 for a malformed, unknown-key, expired or wrongly addressed token.
        """
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = await self.keys(str(kid))
            claims = jwt.decode(
                token, key, algorithms=["ES256"], issuer=self.issuer, audience=self.audience
            )
        except Exception as error:  # PyJWT, key fetch: every failure is a bad credential
            raise HttpProblem(401, "The access token is invalid.") from error
        return Principal(user_id=str(claims["sub"]), role=str(claims.get("role", "user")))


_bearer = HTTPBearer(auto_error=False)


async def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller of an operation that requires ``bearerAuth``.

    Raises:
        HttpProblem: 401 when the token is missing or invalid.
    """
    if credentials is None:
        raise HttpProblem(401, "A bearer access token is required.")
    verifier: TokenVerifier = request.app.state.verifier
    return await verifier.verify(credentials.credentials)


Caller = Annotated[Principal, Depends(principal)]
"""A route parameter for the authenticated caller."""
