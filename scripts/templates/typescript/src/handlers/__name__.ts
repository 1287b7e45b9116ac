/**
 * The operations of contracts/__name__.yaml, keyed by operationId: list__Name__, create__Entity__,
 * get__Entity__. Requests arrive validated against the contract and authenticated by the kit.
 */
import type * as __Name__Api from "@portico/contracts/generated/__name__.js";
import { type Handlers, keysetCursorAfter, notFound, toPage } from "@portico/kit";
import type { Kysely } from "kysely";
import { v7 as uuidv7 } from "uuid";
import { publish__Entity__Created } from "../events.js";
import * as store from "../store/__name__.js";
import type { Database } from "../store/schema.js";

/** What the handlers need. */
export interface __Name__HandlerDeps {
  db: Kysely<Database>;
  /** Call after a commit that wrote events: the outbox relay publishes now. */
  committed(): void;
}

/** Every operation of the contract. */
export function create__Name__Handlers({
  db,
  committed,
}: __Name__HandlerDeps): Handlers<__Name__Api.operations> {
  return {
    async list__Name__({ query }) {
      const limit = query.limit ?? 20;
      const rows = await store.list__Name__(db, {
        fetch: limit + 1,
        after: keysetCursorAfter(query.cursor),
      });
      const page = toPage(
        rows.map((row) => ({ row, createdAt: row.created_at, id: row.id })),
        limit,
        ({ row }) => store.to__Entity__(row),
      );
      return { status: 200, body: page };
    },

    async create__Entity__({ body, principal }) {
      const row = await db.transaction().execute(async (trx) => {
        const created = await store.insert__Entity__(trx, {
          id: uuidv7(),
          name: body.name,
          ownerId: principal?.userId as string,
        });
        await publish__Entity__Created(trx, created);
        return created;
      });
      committed();
      return {
        status: 201,
        headers: { Location: `/__name__/${row.id}` },
        body: store.to__Entity__(row),
      };
    },

    async get__Entity__({ path }) {
      const row = await store.find__Entity__(db, path.__entity__Id);
      if (!row) throw notFound(`No __entity__ ${path.__entity__Id}.`);
      return { status: 200, body: store.to__Entity__(row) };
    },
  };
}
