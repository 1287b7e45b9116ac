/**
 * The other services' side of the query contract on real NATS: `products.query.getProduct` and
 * `users.query.getUserContact` answered from maps the test fills.
 *
 * A stand-in answers only ids its map holds (a `null` entry is answered "does not exist") and
 * stays silent on the rest. It runs on a nats-server of its test file's own (support/own-nats.ts):
 * on the shared server other files' real users and products services answer the same subjects,
 * and a real "does not exist" can beat the stand-in's answer.
 */
import type { QueryReply, QueryRequest, QuerySubject } from "@portico/contracts";
import type { NatsConnection } from "@portico/kit";

/** A running stand-in; `stop` unsubscribes it (queries then find no responders). */
export interface StandIn {
  stop(): Promise<void>;
}

function standIn<S extends QuerySubject>(
  nc: NatsConnection,
  subject: S,
  idOf: (request: QueryRequest<S>) => string,
  known: Map<string, QueryReply<S>>,
): StandIn {
  if (process.env.NATS_URL && nc.getServer() === new URL(process.env.NATS_URL).host) {
    throw new Error(
      `a stand-in for ${subject} needs the test file's own nats-server (startOwnNats)`,
    );
  }
  const sub = nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err) return;
      const id = idOf(msg.json<QueryRequest<S>>());
      if (known.has(id)) msg.respond(JSON.stringify(known.get(id) ?? null));
    },
  });
  return {
    stop: async () => {
      sub.unsubscribe();
      await nc.flush();
    },
  };
}

/** Answers `products.query.getProduct` for the products in `products` (id → reply). */
export async function standInProducts(
  nc: NatsConnection,
  products: Map<string, QueryReply<"products.query.getProduct">>,
): Promise<StandIn> {
  const running = standIn(nc, "products.query.getProduct", (r) => r.productId, products);
  await nc.flush();
  return running;
}

/** Answers `users.query.getUserContact` for the users in `users` (id → reply). */
export async function standInUsers(
  nc: NatsConnection,
  users: Map<string, QueryReply<"users.query.getUserContact">>,
): Promise<StandIn> {
  const running = standIn(nc, "users.query.getUserContact", (r) => r.userId, users);
  await nc.flush();
  return running;
}
