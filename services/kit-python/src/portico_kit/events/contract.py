"""Events as contracts/events.yaml declares them: the Portico envelope, its validation against
the generated JSON Schemas (``contracts/generated/events.schemas.json``, draft-07, with format
checks as the TypeScript services' ajv-formats does), and the declared streams and consumers."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from jsonschema import Draft7Validator, FormatChecker

from portico_kit.contract import event_contract


@dataclass(frozen=True)
class EventValidationError:
    """One violation: a JSON pointer into the envelope (``/data/text``) and what is wrong."""

    path: str
    message: str


class InvalidEventError(ValueError):
    """An envelope that breaks its subject's contract."""

    def __init__(self, subject: str, errors: list[EventValidationError]) -> None:
        self.subject = subject
        self.errors = errors
        super().__init__(f"the envelope violates the {subject} contract: {describe(errors)}")


@dataclass(frozen=True)
class StreamDeclaration:
    """A JetStream stream and exactly the subjects it holds."""

    name: str
    subjects: tuple[str, ...]


@dataclass(frozen=True)
class ConsumerDeclaration:
    """A durable consumer of one subject of one stream."""

    durable: str
    stream: str
    subject: str
    service: str


def describe(errors: list[EventValidationError]) -> str:
    """The errors in one line, as the TypeScript kit writes them."""
    return "; ".join(f"{e.path or '(envelope)'} {e.message}" for e in errors)


@cache
def _validator(subject: str) -> Draft7Validator:
    schema = event_contract()["events"].get(subject)
    if schema is None:
        raise KeyError(f"{subject} is not an event of contracts/events.yaml")
    return Draft7Validator(schema, format_checker=FormatChecker())


def validate_event(subject: str, envelope: object) -> list[EventValidationError]:
    """Every violation of ``subject``'s envelope schema by ``envelope`` (empty: valid).

    Raises:
        KeyError: when ``subject`` is not a declared event.
    """
    return [
        EventValidationError("".join(f"/{part}" for part in error.absolute_path), error.message)
        for error in _validator(subject).iter_errors(envelope)
    ]


def assert_valid_event(subject: str, envelope: object) -> None:
    """Raises InvalidEventError naming each violation, if any."""
    errors = validate_event(subject, envelope)
    if errors:
        raise InvalidEventError(subject, errors)


def new_envelope(
    event_id: str, subject: str, source: str, aggregate_id: str, data: Mapping[str, Any]
) -> dict[str, Any]:
    """The Portico envelope: ``id`` (also the ``Nats-Msg-Id``), ``type`` = subject,
    ``occurredAt`` (RFC 3339 UTC, milliseconds), ``source``, ``subject`` = the aggregate id,
    ``data``."""
    now = datetime.now(UTC)
    return {
        "id": event_id,
        "type": subject,
        "occurredAt": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
        "source": source,
        "subject": aggregate_id,
        "data": dict(data),
    }


def stream(key: str) -> StreamDeclaration:
    """The stream declared under ``key``, its lower-case name (``deadletter``)."""
    declared = event_contract()["streams"][key]
    return StreamDeclaration(name=declared["name"], subjects=tuple(declared["subjects"]))


def consumer(durable: str) -> ConsumerDeclaration:
    """The durable consumer declared under ``durable``."""
    declared = event_contract()["consumers"][durable]
    return ConsumerDeclaration(**declared)


def stream_of(subject: str) -> StreamDeclaration:
    """The declared stream that holds ``subject`` (its exact subject or a ``>`` wildcard).

    Raises:
        KeyError: when no declared stream holds it.
    """
    for declared in event_contract()["streams"].values():
        for pattern in declared["subjects"]:
            if pattern == subject or (pattern.endswith(".>") and subject.startswith(pattern[:-1])):
                return StreamDeclaration(declared["name"], tuple(declared["subjects"]))
    raise KeyError(f"no stream of contracts/events.yaml holds {subject}")
