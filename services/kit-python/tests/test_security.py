"""Token verification: keys fetched from a JWK Set over HTTP (on an unknown ``kid``, at most once
per cooldown), verified tokens remembered no longer than they are valid."""

import asyncio

import pytest

from portico_kit.problems import HttpProblem
from portico_kit.security import JwksKeys, TokenVerifier, bearer_token
from portico_kit.testing import AUDIENCE, ISSUER, TestIssuer, jwks_server


async def test_fetches_the_key_set_for_an_unknown_key_id_and_verifies_with_it() -> None:
    issuer = TestIssuer()
    with jwks_server(issuer.jwks) as url:
        verifier = TokenVerifier(JwksKeys(url).key, issuer=ISSUER, audience=AUDIENCE)
        principal = await verifier.verify(issuer.token("admin", email="root@example.com"))
    assert (principal.role, principal.email) == ("admin", "root@example.com")


async def test_refetches_for_a_new_key_at_most_once_per_cooldown() -> None:
    issuer = TestIssuer()
    with jwks_server(issuer.jwks) as url:
        keys = JwksKeys(url, cooldown=0.3)
        assert await keys.key(issuer.kid) is not None
        # A made-up key id right after a fetch: answered from what was fetched, no new request.
        assert await keys.key("made-up") is None
        fetched_at = keys._fetched_at
        assert await keys.key("made-up-again") is None
        assert keys._fetched_at == fetched_at
        await asyncio.sleep(0.35)
        assert await keys.key("made-up-later") is None
        assert keys._fetched_at != fetched_at


async def test_rejects_a_token_when_the_key_set_is_unreachable() -> None:
    issuer = TestIssuer()
    with jwks_server(issuer.jwks) as url:
        pass  # the server is stopped: nothing answers at `url` any more
    verifier = TokenVerifier(JwksKeys(url, timeout=0.5).key, issuer=ISSUER, audience=AUDIENCE)
    with pytest.raises(HttpProblem) as raised:
        await verifier.verify(issuer.token())
    assert raised.value.status == 401


async def test_remembers_a_verified_token_only_until_it_expires() -> None:
    issuer = TestIssuer()
    verifier = TokenVerifier(issuer.key, issuer=ISSUER, audience=AUDIENCE, cache_seconds=60)
    token = issuer.token(ttl=1)
    assert (await verifier.verify(token)).role == "user"
    assert (await verifier.verify(token)).role == "user"
    await asyncio.sleep(1.1)
    with pytest.raises(HttpProblem):
        await verifier.verify(token)


async def test_keeps_at_most_cache_size_tokens() -> None:
    issuer = TestIssuer()
    verifier = TokenVerifier(issuer.key, issuer=ISSUER, audience=AUDIENCE, cache_size=2)
    for _ in range(5):
        await verifier.verify(issuer.token())
    assert len(verifier._verified) == 2


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc.def.ghi", "abc.def.ghi"),
        ("bearer   abc", "abc"),
        ("Basic abc", None),
        ("Bearer", None),
        ("Bearer a b", None),
        (None, None),
    ],
)
def test_reads_the_bearer_token_of_rfc_6750(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token
