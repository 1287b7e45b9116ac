"""Event ids: UUID version 7 (RFC 9562, section 5.7), as every Portico event id is.

``uuid7()`` draws a new one. A service without a database to remember which events it has handled
*derives* the id of an event it publishes in reaction to another from that event's id instead
(``derived_uuid7``): handling the same input twice (a redelivery) publishes an event with the same
id, which JetStream drops as a duplicate (``Nats-Msg-Id``) inside the stream's duplicate window,
and which the consumer of the output ignores after it (it records the ids it applied).

The derived id keeps the v7 layout: the 48-bit ``unix_ts_ms`` of the input id (so output ids sort
like their inputs), version 7, variant ``10``, and the 74 bits that RFC 9562 leaves to the
implementation (``rand_a`` and ``rand_b``; section 6.9 recommends, but does not require, random
bits there) taken from SHA-256 of the input id and a purpose name — a name-based v7, as v5 is a
name-based v4.
"""

import hashlib
import os
import time
import uuid


def uuid7() -> str:
    """A new UUID v7 (RFC 9562 section 5.7): 48 bits of Unix milliseconds, version 7, variant
    ``10``, then 74 random bits."""
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)
    value = (value & ~(0x3 << 62)) | (0x2 << 62)
    return str(uuid.UUID(int=value))


def derived_uuid7(source_id: str, purpose: str) -> str:
    """The v7 id of the event published for ``purpose`` (e.g. its subject) in reaction to the
    event ``source_id`` (a UUID v7): always the same for the same pair.

    Raises:
        ValueError: when ``source_id`` is not a UUID.
    """
    source = uuid.UUID(source_id)
    timestamp_ms = source.int >> 80
    digest = int.from_bytes(hashlib.sha256(f"{purpose}\n{source}".encode()).digest()[:16], "big")
    rand_a = (digest >> 116) & 0xFFF
    rand_b = digest & ((1 << 62) - 1)
    value = (timestamp_ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
    return str(uuid.UUID(int=value))
