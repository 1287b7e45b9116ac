"""Fixtures: clients of a running Portico system.

PORTICO_BASE_URL names its gateway (default http://127.0.0.1:8080, as `npm start` serves it);
PORTICO_ADMIN_EMAIL and PORTICO_ADMIN_PASSWORD an administrator account (the address must be in
the users service's ADMIN_EMAILS; the account is registered when missing). The jest test
scripts/test/contracts/python-client.test.ts starts a whole system on free ports and runs these
tests against it.
"""

import os
import uuid
from collections.abc import Iterator

import httpx
import pytest

from portico_client import AuthenticatedClient, Client
from portico_client.api.auth import issue_token
from portico_client.api.users import register_user
from portico_client.models import RegisterUserRequest, TokenRequest, TokenResponse

BASE_URL = os.environ.get("PORTICO_BASE_URL", "http://127.0.0.1:8080")


def sign_in(email: str, password: str) -> AuthenticatedClient:
    """Signs in with the password grant (POST /auth/token): a client that sends the token."""
    with Client(base_url=BASE_URL) as anonymous:
        token = issue_token.sync(
            client=anonymous,
            body=TokenRequest(grant_type="password", username=email, password=password),
        )
    assert isinstance(token, TokenResponse), f"sign-in refused: {token}"
    return AuthenticatedClient(base_url=BASE_URL, token=token.access_token)


def register(email: str, password: str, name: str) -> None:
    """Registers an account; one that exists already (409) is fine."""
    with Client(base_url=BASE_URL) as anonymous:
        response = register_user.sync_detailed(
            client=anonymous,
            body=RegisterUserRequest(email=email, password=password, name=name),
        )
    assert response.status_code in (201, 409), response.content


@pytest.fixture(scope="session")
def base_url() -> str:
    """The gateway's base URL."""
    return BASE_URL


@pytest.fixture(scope="session", autouse=True)
def system_is_up() -> None:
    """Fails at once, with the reason, when no gateway answers at PORTICO_BASE_URL."""
    try:
        httpx.get(f"{BASE_URL}/readyz", timeout=5).raise_for_status()
    except httpx.HTTPError as error:
        pytest.fail(
            f"no ready Portico gateway at {BASE_URL} (npm start, or set PORTICO_BASE_URL): {error}"
        )


@pytest.fixture(scope="session")
def admin() -> Iterator[AuthenticatedClient]:
    """A client signed in as the administrator."""
    email = os.environ.get("PORTICO_ADMIN_EMAIL", "admin@portico.local")
    password = os.environ.get("PORTICO_ADMIN_PASSWORD", "admin-password")
    register(email, password, "Admin")
    with sign_in(email, password) as client:
        yield client


@pytest.fixture
def user() -> Iterator[AuthenticatedClient]:
    """A client signed in as a newly registered user."""
    email = f"py-{uuid.uuid4().hex[:12]}@example.com"
    register(email, "python-client-password", "Py")
    with sign_in(email, "python-client-password") as client:
        yield client
