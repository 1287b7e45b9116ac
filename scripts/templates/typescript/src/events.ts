/**
 * What the __name__ service publishes: each change writes its events into the `outbox` table in
 * its own transaction; the kit's outbox relay publishes them to the `__NAME__` JetStream stream
 * (declared in contracts/events.yaml). The request id and trace context travel by themselves.
 */
import { type EventPayloads, STREAMS } from "@portico/contracts";
import { enqueueEvent } from "@portico/kit";
import type { Transaction } from "kysely";
import { to__Entity__ } from "./store/__name__.js";
import type { __Entity__Row, Database } from "./store/schema.js";

/** The envelope `source` of every event this service publishes. */
export const SOURCE = "__name__";

/** The stream holding this service's events. */
export const STREAM = STREAMS.__name__;

/** The `__name__.__entity__.created` payload of a new row. */
export function __entity__Created(
  row: __Entity__Row,
): EventPayloads["__name__.__entity__.created"] {
  return { __entity__: to__Entity__(row) };
}

/**
 * Writes `__name__.__entity__.created` for `row` into the outbox inside `trx`: published if and
 * only if `trx` commits.
 * @throws InvalidEventError (from `@portico/contracts`) when the event breaks its contract.
 */
export async function publish__Entity__Created(
  trx: Transaction<Database>,
  row: __Entity__Row,
): Promise<void> {
  await enqueueEvent(trx, {
    source: SOURCE,
    subject: "__name__.__entity__.created",
    aggregateId: row.id,
    data: __entity__Created(row),
  });
}
