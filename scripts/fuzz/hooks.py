"""Schemathesis hooks and checks of `npm run test:fuzz`, loaded through ``SCHEMATHESIS_HOOKS=hooks``
with this folder on ``PYTHONPATH`` (scripts/src/fuzz/main.ts sets both, and ``PORTICO_ROLE``).

- Pagination cursors are opaque: a `cursor` is valid only when the API itself returned it as a
  page's `nextCursor`, which no JSON Schema can express (contracts/components.yaml gives its alphabet
  and length only). A drawn cursor in a case that is meant to be valid is therefore taken out, so
  that ``positive_data_acceptance`` can demand a 2xx of list operations without an exception for
  them; the cases meant to be invalid keep theirs and must still get 400.
- ``role_refused``: the scopes of an operation's security requirements are the roles allowed to
  call it (`bearerAuth: [admin]`). A pass whose token carries a role no requirement lists must get
  403 from that operation whatever the data, valid or not: the gateway decides on credentials
  before it looks at the request (a request whose credentials were dropped or mangled gets 401,
  which is left to the other checks; a body that is not JSON at all gets 400 as a malformed
  message, before any question of who sent it).
- ``negative_data_rejection`` demands 400 of an invalid request, but a negative case that drops or
  mangles the credentials (the `Authorization` header, or an `X-API-Key` beside it) must get 401
  (RFC 9110 section 15.5.2) before anything else is judged: that failure is dropped only when the
  request really did not carry the pass's own token alone, so a 401 to proper credentials still fails.
"""

import json
import os
from typing import Any

import schemathesis
from schemathesis import GenerationMode
from schemathesis.core.failures import AcceptedNegativeData, Failure

CURSOR_PARAMETER = "cursor"


@schemathesis.hook
def map_case(context: schemathesis.HookContext, case: Any) -> Any:
    meta = case.meta
    if (
        meta is not None
        and meta.generation.mode == GenerationMode.POSITIVE
        and isinstance(case.query, dict)
        and CURSOR_PARAMETER in case.query
    ):
        case.query = {name: value for name, value in case.query.items() if name != CURSOR_PARAMETER}
    return case


def _security_requirements(case: Any) -> list[dict[str, list[str]]]:
    """The operation's security requirements (OpenAPI 3.1 section 4.8.10.4), or the document's."""
    operation = case.operation.definition.raw
    if "security" in operation:
        return operation["security"] or []
    return case.operation.schema.raw_schema.get("security") or []


def _role_allowed(requirements: list[dict[str, list[str]]], role: str) -> bool:
    """Whether a caller with `role` satisfies one requirement (no requirement, or no scope, or its role)."""
    if not requirements:
        return True
    return any(not scopes or role in scopes for requirement in requirements for scopes in requirement.values())


def _sent_own_credentials(headers: Any) -> bool:
    """Whether the request carried exactly the pass's token (``PORTICO_TOKEN``) and no API key."""
    return headers.get("Authorization") == f"Bearer {os.environ.get('PORTICO_TOKEN', '')}" and (
        "X-API-Key" not in headers
    )


def _is_json(request: Any) -> bool:
    """Whether the request has no body or a body that parses as JSON."""
    if not request.body:
        return True
    try:
        json.loads(request.body)
    except ValueError:
        return False
    return True


@schemathesis.check
def role_refused(ctx: schemathesis.CheckContext, response: Any, case: Any) -> bool | None:
    role = os.environ.get("PORTICO_ROLE")
    # Only requests with the pass's own credentials, to the operation's own method (another method
    # is a 405 whoever asks).
    if (
        not role
        or not _sent_own_credentials(response.request.headers)
        or case.method.upper() != case.operation.method.upper()
    ):
        return None
    # A body that is not even well-formed JSON is refused (400) as the message it is, before anyone
    # is asked whether they may send it.
    if response.status_code == 400 and not _is_json(response.request):
        return None
    if _role_allowed(_security_requirements(case), role):
        return None
    if response.status_code != 403:
        raise AssertionError(
            f"A caller with role `{role}` may not call this operation: expected 403, got {response.status_code}"
        )
    return True


@schemathesis.hook
def filter_failure(context: schemathesis.HookContext, failure: Failure, case: Any, response: Any) -> bool:
    return not (
        isinstance(failure, AcceptedNegativeData)
        and response.status_code == 401
        and not _sent_own_credentials(response.request.headers)
    )
