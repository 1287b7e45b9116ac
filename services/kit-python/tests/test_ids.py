"""Event ids: new and derived ones are valid UUID v7; derived ones deterministic and time-ordered
like their source."""

import re
import uuid

import pytest

from portico_kit.contract import event_contract
from portico_kit.events.ids import derived_uuid7, uuid7

SOURCE = "0192f0c6-5e6f-7a81-9c83-9e0f1a2b3c4d"
SUBJECT = next(iter(event_contract()["events"]))
"""Any declared event: its envelope's id pattern is every event's."""


def test_is_a_uuid_v7_the_event_contract_accepts() -> None:
    derived = derived_uuid7(SOURCE, SUBJECT)
    parsed = uuid.UUID(derived)
    assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)
    pattern = event_contract()["events"][SUBJECT]["definitions"]["EventId"]["pattern"]
    assert re.fullmatch(pattern, derived)


def test_is_the_same_for_the_same_source_and_purpose_only() -> None:
    derived = derived_uuid7(SOURCE, SUBJECT)
    assert derived_uuid7(SOURCE, SUBJECT) == derived
    assert derived_uuid7(SOURCE, "another.purpose") != derived
    other = "0192f0c6-5e6f-7a81-9c83-9e0f1a2b3c4e"
    assert derived_uuid7(other, SUBJECT) != derived


def test_keeps_the_source_timestamp() -> None:
    derived = uuid.UUID(derived_uuid7(SOURCE, SUBJECT))
    assert derived.int >> 80 == uuid.UUID(SOURCE).int >> 80


def test_rejects_a_source_that_is_not_a_uuid() -> None:
    with pytest.raises(ValueError, match="UUID"):
        derived_uuid7("not-a-uuid", SUBJECT)


def test_draws_new_uuid_v7_ids_in_time_order() -> None:
    first, second = uuid7(), uuid7()
    assert first != second
    parsed = uuid.UUID(first)
    assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)
    pattern = event_contract()["events"][SUBJECT]["definitions"]["EventId"]["pattern"]
    assert re.fullmatch(pattern, first)
    assert first[:8] <= second[:8]
