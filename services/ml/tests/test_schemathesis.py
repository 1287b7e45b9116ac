"""Schemathesis against the running ML service (``python -m app``, as ``npm start`` runs it,
verifying tokens against a JWK Set served over HTTP) with contracts/ml.yaml: property-based
requests, valid and invalid, for every operation (at most 50 examples each, so the run stays
bounded), each checked strictly — no 5xx, every status code, header, content type and body as the
contract declares, valid requests answered 2xx, invalid ones 400 (401 where the credentials were
mangled), every answer within 5 s, operations that need a token refused without one. Any failure
fails the test."""

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from portico_kit.contract import generated_dir
from portico_kit.testing import TestIssuer, jwks_server
from schemathesis import GenerationMode
from schemathesis.config import PositiveDataAcceptanceConfig

# Not re-exported by schemathesis.config in the pinned version.
from schemathesis.config._checks import NegativeDataRejectionConfig
from schemathesis.core.failures import AcceptedNegativeData, Failure

from tests.support.servers import ml_service, nats_server

MAX_EXAMPLES = 50

schema = schemathesis.openapi.from_path(generated_dir() / "ml.openapi.json")
schema.config.checks.update(max_response_time=5.0)
schema.config.checks.positive_data_acceptance = PositiveDataAcceptanceConfig(
    expected_statuses=["2xx"]
)
schema.config.checks.negative_data_rejection = NegativeDataRejectionConfig(
    expected_statuses=["400"]
)
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=MAX_EXAMPLES,
    database="none",
)

ISSUER = TestIssuer()
ADMIN_TOKEN = ISSUER.token("admin")


@schema.hook
def filter_failure(
    context: schemathesis.HookContext, failure: Failure, case: schemathesis.Case[Any], response: Any
) -> bool:
    # A case that drops or mangles the credentials gets 401 (RFC 9110 section 15.5.2) before its
    # data is judged: right, and not the 400 negative_data_rejection asks of invalid data otherwise.
    return not (
        isinstance(failure, AcceptedNegativeData)
        and response.status_code == 401
        and response.request.headers.get("Authorization") != f"Bearer {ADMIN_TOKEN}"
    )


@pytest.fixture(scope="module")
def service() -> Iterator[str]:
    """The service's base URL, with its own NATS and the test issuer's JWK Set."""
    with nats_server() as nats_url, jwks_server(ISSUER.jwks) as jwks_url:
        env = {"NATS_URL": nats_url, "JWKS_URL": jwks_url, "NODE_ENV": "test"}
        with ml_service(env) as url:
            yield url


@schema.parametrize()
def test_the_service_honours_its_contract(case: schemathesis.Case[Any], service: str) -> None:
    # An administrator's token: every operation is allowed, so 2xx answers get checked too.
    case.call_and_validate(base_url=service, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
