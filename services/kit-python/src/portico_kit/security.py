"""Bearer-token authentication, as in every Portico service: JWTs (RFC 7519) signed by the users
service and verified against its JWK Set (RFC 7517) with PyJWT, the same issuer and audience as
the TypeScript services, and roles as the scopes of the contract's security requirements
(OpenAPI 3.1 role-based security). Each route takes its requirement from the service's contract.
"""

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import jwt
from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes

from portico_kit.contract import SECURITY_SCHEME, required_roles
from portico_kit.problems import forbidden, unauthorized

Role = Literal["user", "admin"]


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, from a verified access token."""

    user_id: str
    """The ``sub`` claim."""
    role: Role
    email: str


class JwksKeys:
    """The signing keys of a JWK Set, fetched with PyJWKClient when a token names an unknown
    ``kid`` (key rotation), at most once per ``cooldown`` seconds so that tokens with made-up key
    ids cannot make the service hammer the token issuer. The fetch runs in a worker thread:
    PyJWKClient is synchronous."""

    def __init__(self, url: str, *, timeout: float = 2.0, cooldown: float = 5.0) -> None:
        self._client = jwt.PyJWKClient(url, cache_jwk_set=False, cache_keys=False, timeout=timeout)
        self._cooldown = cooldown
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> jwt.PyJWK | None:
        """The key with id ``kid``, fetching the set when it is unknown (and may be new)."""
        if kid in self._keys:
            return self._keys[kid]
        async with self._lock:
            recently = (
                self._fetched_at is not None
                and time.monotonic() - self._fetched_at < self._cooldown
            )
            if kid not in self._keys and not recently:
                try:
                    jwk_set = await asyncio.to_thread(self._client.get_jwk_set, True)
                finally:
                    self._fetched_at = time.monotonic()
                self._keys = {k.key_id: k for k in jwk_set.keys if k.key_id}
        return self._keys.get(kid)


KeyResolver = Callable[[str], Awaitable[jwt.PyJWK | None]]
"""Finds a verification key by ``kid``: ``JwksKeys.key``, or a test's local keys."""


class TokenVerifier:
    """Verifies access tokens: signature (key by ``kid``), ``iss``, ``aud``, ``exp``, and the
    claims a principal needs (``sub``, ``role``).

    A token that verified is remembered for up to ``cache_seconds`` (never past its ``exp``), so
    a client sending the same token request after request pays for the ES256 signature check
    once: about a third of the cost of scoring a 500-character text here. Only valid tokens are
    remembered, at most ``cache_size`` of them (the oldest is dropped first).
    """

    def __init__(
        self,
        keys: KeyResolver,
        *,
        issuer: str,
        audience: str,
        cache_seconds: float = 60.0,
        cache_size: int = 10_000,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._cache_seconds = cache_seconds
        self._cache_size = cache_size
        self._verified: dict[str, tuple[Principal, float]] = {}

    async def verify(self, token: str) -> Principal:
        """The principal of a valid token.

        Raises:
            HttpProblem: 401 for any invalid, expired or unverifiable token (the reason is not
                disclosed to the caller).
        """
        now = time.time()
        cached = self._verified.get(token)
        if cached is not None:
            if cached[1] > now:
                return cached[0]
            del self._verified[token]
        principal, expires = await self._verify(token)
        if self._cache_seconds > 0:
            if len(self._verified) >= self._cache_size:
                del self._verified[next(iter(self._verified))]
            self._verified[token] = (principal, min(expires, now + self._cache_seconds))
        return principal

    async def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = await self._keys(kid) if isinstance(kid, str) else None
            if key is None:
                raise jwt.InvalidKeyError("unknown key id")
            claims = jwt.decode(
                token,
                key,
                algorithms=[key.algorithm_name],
                issuer=self._issuer,
                audience=self._audience,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except (jwt.PyJWTError, jwt.PyJWKClientError, OSError) as error:
            raise unauthorized("The bearer token is invalid or expired.") from error
        role = claims.get("role")
        if not isinstance(claims.get("sub"), str) or role not in ("user", "admin"):
            raise unauthorized("The bearer token is invalid or expired.")
        principal = Principal(user_id=claims["sub"], role=role, email=str(claims.get("email", "")))
        return principal, float(claims["exp"])


_BEARER = re.compile(r"^Bearer +([A-Za-z0-9\-._~+/]+=*)$", re.IGNORECASE)


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (RFC 6750 section 2.1)."""
    match = _BEARER.match(header or "")
    return match.group(1) if match else None


# Declares the scheme in the served OpenAPI document under the contract's name; the header is
# parsed by `bearer_token` (the kit's rule), so this never raises.
_bearer_scheme = HTTPBearer(scheme_name=SECURITY_SCHEME, bearerFormat="JWT", auto_error=False)


async def authenticated(
    scopes: SecurityScopes,
    request: Request,
    _scheme: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)],
) -> Principal:
    """FastAPI dependency: the caller, who must hold one of the requirement's roles (scopes;
    none listed: any signed-in user).

    Raises:
        HttpProblem: 401 without a valid token, 403 when its role is not listed.
    """
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise unauthorized()
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = await verifier.verify(token)
    if scopes.scopes and principal.role not in scopes.scopes:
        raise forbidden(scopes.scopes)
    return principal


def requirement_of(operation_id: str, contract: dict[str, Any]) -> Any:
    """The dependency that enforces an operation's security requirement as ``contract`` (the
    service's bundled contract) declares it:
    ``caller: Annotated[Principal, requirement_of("listThings", contract)]``.

    Raises:
        ValueError: when the contract declares the operation public (it needs no principal).
    """
    roles = required_roles(operation_id, contract)
    if roles is None:
        raise ValueError(f"{operation_id} is public in the contract: it takes no principal")
    return Security(authenticated, scopes=roles)
