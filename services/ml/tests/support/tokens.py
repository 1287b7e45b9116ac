"""Access tokens for tests: an ES256 key pair (as the users service signs with), its JWK Set, and
tokens with the claims Portico's services require."""

import json
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

ISSUER = "portico"
AUDIENCE = "portico-api"


class TestIssuer:
    """Signs tokens with a fresh P-256 key; ``jwks`` is its public JWK Set (RFC 7517)."""

    __test__ = False  # not a pytest test class

    def __init__(self, kid: str | None = None) -> None:
        self.kid = kid or f"test-{uuid.uuid4().hex[:8]}"
        self._key = ec.generate_private_key(ec.SECP256R1())
        public = json.loads(ECAlgorithm.to_jwk(self._key.public_key()))
        self.jwks: dict[str, Any] = {
            "keys": [{**public, "kid": self.kid, "alg": "ES256", "use": "sig"}]
        }

    def token(self, role: str = "user", *, ttl: int = 300, **claims: Any) -> str:
        """A signed token for a new user id with ``role``; ``claims`` override any claim."""
        now = int(time.time())
        payload = {
            "sub": str(uuid.uuid4()),
            "role": role,
            "email": f"{role}@example.com",
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + ttl,
            **claims,
        }
        return jwt.encode(payload, self._key, algorithm="ES256", headers={"kid": self.kid})

    async def key(self, kid: str) -> jwt.PyJWK | None:
        """A key resolver over this issuer's JWK Set (for ``TokenVerifier``)."""
        for key in self.jwks["keys"]:
            if key["kid"] == kid:
                return jwt.PyJWK(key)
        return None
