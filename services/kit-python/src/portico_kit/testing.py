"""For a service's tests: access tokens signed by an ES256 key pair (as the token issuer signs),
its JWK Set, tokens with the claims Portico's services require, and that JWK Set served over
HTTP on a free port."""

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


@contextlib.contextmanager
def jwks_server(jwks: dict[str, Any]) -> Iterator[str]:
    """Serves ``jwks`` at ``/.well-known/jwks.json`` over HTTP; yields that URL."""
    body = json.dumps(jwks).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()
