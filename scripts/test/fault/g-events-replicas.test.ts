/**
 * Fault scenario g (events): two replicas of every service (`startSystem({ replicas: 2 })`: users,
 * products and notifications twice, one gateway balancing over them; its own nats-server, SMTP
 * sink and databases). 1,000 back-in-stock events — 50 products restocked 20 times each, one
 * subscriber per product — must each be applied exactly once across both notifications replicas:
 * one notification row per (subscriber, event) in the notifications database and one email per
 * (subscriber, event) at the SMTP sink, while the gateway spreads the writes over both products
 * replicas and both notifications replicas take events from the shared durable consumer.
 *
 * The events sent are read back from the products database's outbox (one row per event), so a
 * missing or doubled effect is counted per event id.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createPorticoClient, type PorticoClient, unwrap } from "@portico/client";
import { connectNats, createLogger } from "@portico/kit";
import pg from "pg";
import { waitFor } from "../../src/demo/journey.js";
import { startNats } from "../../src/infra/nats.js";
import { getFreePort } from "../../src/infra/ports.js";
import { fileSink, type LogSink } from "../../src/infra/process.js";
import { startSmtpSink } from "../../src/infra/smtp.js";
import { dataRoot } from "../../src/paths.js";
import { recordScenario } from "../../src/reliability/record.js";
import { SYSTEM_PROCESSES, startSystem, withReplicas } from "../../src/system.js";
import { listMessages } from "../../src/testing/mail.js";
import { createDatabase } from "../../src/testing/provision.js";

const REPLICAS = 2;
const CUSTOMERS = 10;
const PRODUCTS = 50;
const RESTOCKS_PER_PRODUCT = 20;
const EVENTS = PRODUCTS * RESTOCKS_PER_PRODUCT;
/** Products restocked at once (each product's restocks stay in order). */
const CONCURRENCY = 10;
const ADMIN_EMAIL = "admin@portico.local";
/** Product p's one subscriber. */
const subscriberOf = (product: number) => product % CUSTOMERS;

/** Per process name: access-logged PUTs, and back_in_stock events applied or found applied. */
const seen = new Map<string, { puts: number; applied: number; alreadyApplied: number }>();
/** Counts the lines that show which replica did the work (JSON log lines of pino). */
const countingSink: LogSink = (name, line) => {
  if (!line.startsWith("{")) return;
  const counts = seen.get(name) ?? { puts: 0, applied: 0, alreadyApplied: 0 };
  seen.set(name, counts);
  let entry: { msg?: string; method?: string; applied?: boolean };
  try {
    entry = JSON.parse(line);
  } catch {
    return;
  }
  if (entry.msg === "request completed" && entry.method === "PUT") counts.puts += 1;
  if (entry.msg === "back_in_stock handled" && entry.applied) counts.applied += 1;
  if (entry.msg === "back_in_stock already applied; nothing to do") counts.alreadyApplied += 1;
};

const stops: (() => Promise<void>)[] = [];
let gateway: string;
let natsUrl: string;
let mailApi: string;
let databaseUrls: Record<string, string>;
let admin: PorticoClient;
const customers: { client: PorticoClient; email: string }[] = [];
const products: { id: string; name: string }[] = [];

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), "portico-fault-g-events-"));
  stops.push(() => rm(dir, { recursive: true, force: true }));
  const nats = await startNats({ storeDir: join(dir, "nats") });
  stops.push(nats.stop);
  natsUrl = nats.url;
  const smtp = await startSmtpSink({ smtpPort: 0, httpPort: 0 });
  stops.push(smtp.stop);
  mailApi = smtp.apiUrl;

  const processes = withReplicas(SYSTEM_PROCESSES, REPLICAS);
  databaseUrls = {};
  const ports: Record<string, number> = {};
  for (const spec of processes) {
    if (spec.database && !databaseUrls[spec.database]) {
      databaseUrls[spec.database] = await createDatabase(`fault_g_${spec.database}`);
    }
    ports[spec.name] = await getFreePort();
  }
  await mkdir(join(dataRoot, "test-logs"), { recursive: true });
  const logs = fileSink(join(dataRoot, "test-logs", "fault-g-events-replicas.log"));
  stops.push(logs.close);
  const system = await startSystem({
    replicas: REPLICAS,
    natsUrl: nats.url,
    databaseUrls,
    smtpUrl: smtp.smtpUrl,
    ports,
    nodeEnv: "test",
    logLevel: "info",
    envByProcess: { users: { ADMIN_EMAILS: ADMIN_EMAIL } },
    log: (name, line, stream) => {
      logs.sink(name, line, stream);
      countingSink(name, line, stream);
    },
    readyTimeoutMs: 60_000,
  });
  stops.push(system.stop);
  gateway = system.urls.gateway;

  admin = createPorticoClient({ baseUrl: gateway });
  await unwrap(
    admin.POST("/users", { body: { email: ADMIN_EMAIL, password: "fault-g-admin", name: "A" } }),
  );
  await admin.signIn(ADMIN_EMAIL, "fault-g-admin");
  for (let i = 0; i < CUSTOMERS; i++) {
    const email = `fault-g-customer-${i}@example.com`;
    const client = createPorticoClient({ baseUrl: gateway });
    await unwrap(
      client.POST("/users", { body: { email, password: "fault-g-pass", name: `C${i}` } }),
    );
    await client.signIn(email, "fault-g-pass");
    customers.push({ client, email });
  }
  for (let p = 0; p < PRODUCTS; p++) {
    const name = `Fault-g item ${String(p).padStart(2, "0")}`;
    const product = await unwrap(
      admin.POST("/products", {
        body: {
          name,
          description: "Restocked 20 times",
          price: { amount: 100, currency: "EUR" },
          stock: 0,
        },
      }),
    );
    products.push({ id: product.id, name });
    const subscriber = customers[subscriberOf(p)] as (typeof customers)[number];
    await unwrap(subscriber.client.POST("/subscriptions", { body: { productId: product.id } }));
  }
}, 120_000);

afterAll(async () => {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
}, 60_000);

/** Runs `task` for every item with at most `limit` running at once. */
async function inBatches<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await task(items[next++] as T);
    }),
  );
}

/**
 * Requests served per instance of a NATS query service (NATS service API `$SRV.STATS.<name>`:
 * every instance answers with its endpoints' counters).
 */
async function queriesPerInstance(service: string): Promise<number[]> {
  const nc = await connectNats(natsUrl, "fault-g-stats", createLogger("fault-g", "silent"));
  try {
    const counts: number[] = [];
    for await (const reply of await nc.requestMany(`$SRV.STATS.${service}`, "", {
      strategy: "timer",
      maxWait: 1_000,
    })) {
      const stats = reply.json<{ endpoints?: { num_requests?: number }[] }>();
      counts.push((stats.endpoints ?? []).reduce((n, e) => n + (e.num_requests ?? 0), 0));
    }
    return counts;
  } finally {
    await nc.close();
  }
}

/** One query against one of the system's databases. */
async function queryRows<R>(database: string, text: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: databaseUrls[database] });
  await client.connect();
  try {
    return (await client.query(text)).rows as R[];
  } finally {
    await client.end();
  }
}

describe("fault g: two replicas of every service", () => {
  it("applies each of 1,000 events exactly once across both notifications replicas", async () => {
    const started = Date.now();
    await inBatches(products, CONCURRENCY, async (product) => {
      for (let k = 1; k <= RESTOCKS_PER_PRODUCT; k++) {
        for (const quantity of k > 1 ? [0, k] : [k]) {
          await unwrap(
            admin.PUT("/products/{productId}/stock", {
              params: { path: { productId: product.id } },
              body: { quantity },
            }),
          );
        }
      }
    });
    const restockedAt = Date.now();

    const eventIds = async () =>
      (
        await queryRows<{ id: string }>(
          "products",
          "select id from outbox where subject = 'products.product.back_in_stock'",
        )
      ).map((row) => row.id);
    const notificationRows = () =>
      queryRows<{ user_id: string; event_id: string }>(
        "notifications",
        "select user_id, event_id from notifications",
      );
    const emails = async () => (await listMessages(mailApi, 5_000)).messages;
    await waitFor(
      "a notification and an email per event",
      async () =>
        (await notificationRows()).length >= EVENTS && (await emails()).length >= EVENTS
          ? true
          : undefined,
      90_000,
    );
    // Let any late duplicate (a redelivery, a second send) show up before counting.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const settledAt = Date.now();

    const events = new Set(await eventIds());
    const rows = await notificationRows();
    const perEvent = new Map<string, number>();
    for (const row of rows) perEvent.set(row.event_id, (perEvent.get(row.event_id) ?? 0) + 1);
    const notificationsLost = [...events].filter((id) => !perEvent.has(id)).length;
    const notificationsDuplicated =
      rows.length - new Set(rows.map((r) => `${r.user_id}|${r.event_id}`)).size;
    const strayNotifications = [...perEvent.keys()].filter((id) => !events.has(id)).length;
    // One email per (subscriber, product, k): "<name> is back in stock", "… with k available …".
    const expectedEmails = new Set<string>();
    for (const [p, product] of products.entries()) {
      const to = customers[subscriberOf(p)]?.email;
      for (let k = 1; k <= RESTOCKS_PER_PRODUCT; k++)
        expectedEmails.add(`${to}|${product.name}|${k}`);
    }
    const emailCounts = new Map<string, number>();
    for (const m of await emails()) {
      const key = `${m.To[0]?.Address}|${m.Subject.replace(/ is back in stock$/, "")}|${/with (\d+) available/.exec(m.Snippet)?.[1]}`;
      emailCounts.set(key, (emailCounts.get(key) ?? 0) + 1);
    }
    const emailsLost = [...expectedEmails].filter((key) => !emailCounts.has(key)).length;
    const emailsDuplicated = [...emailCounts].reduce(
      (n, [key, count]) => n + (expectedEmails.has(key) ? count - 1 : count),
      0,
    );

    const of = (name: string) => seen.get(name) ?? { puts: 0, applied: 0, alreadyApplied: 0 };
    const productPuts = [1, 2].map((i) => of(`products-${i}`).puts);
    const applied = [1, 2].map((i) => of(`notifications-${i}`).applied);
    const alreadyApplied = [1, 2].map((i) => of(`notifications-${i}`).alreadyApplied);
    // Each event's handler asked the users service for the subscriber's contact (queue group).
    const contactQueries = await queriesPerInstance("users");
    const effects = rows.length + [...emailCounts.values()].reduce((a, b) => a + b, 0);
    await recordScenario({
      id: "g-events",
      scenario:
        "two replicas of each service: 1,000 back-in-stock events, each applied exactly once",
      sent: events.size,
      effects,
      lost: notificationsLost + emailsLost,
      duplicated: notificationsDuplicated + strayNotifications + emailsDuplicated,
      notes:
        `${PRODUCTS} products × ${RESTOCKS_PER_PRODUCT} restocks, one subscriber each: expected ` +
        `${EVENTS} notifications + ${EVENTS} emails. Stock writes through the gateway: ` +
        `products-1 ${productPuts[0]}, products-2 ${productPuts[1]}. Events applied: ` +
        `notifications-1 ${applied[0]}, notifications-2 ${applied[1]} (found already applied: ` +
        `${alreadyApplied.join(" / ")}). Contact queries answered per users replica: ` +
        `${contactQueries.join(" / ")}. Restocks ${restockedAt - started} ms, catch-up ` +
        `${settledAt - restockedAt} ms (incl. 2 s quiet period).`,
    });

    expect(events.size).toBe(EVENTS);
    expect({ notificationsLost, notificationsDuplicated, strayNotifications }).toEqual({
      notificationsLost: 0,
      notificationsDuplicated: 0,
      strayNotifications: 0,
    });
    expect({ emailsLost, emailsDuplicated }).toEqual({ emailsLost: 0, emailsDuplicated: 0 });
    expect(rows).toHaveLength(EVENTS);
    // Applied once across the replicas, and both replicas took part.
    expect((applied[0] ?? 0) + (applied[1] ?? 0)).toBe(EVENTS);
    expect(applied.every((n) => n > 0)).toBe(true);
    // NATS request/reply: both users replicas answered queries (one queue group).
    expect(contactQueries).toHaveLength(REPLICAS);
    expect(contactQueries.every((n) => n > 0)).toBe(true);
    // The gateway balanced the writes round-robin over both products replicas.
    const puts = (productPuts[0] ?? 0) + (productPuts[1] ?? 0);
    expect(puts).toBeGreaterThanOrEqual(PRODUCTS * (2 * RESTOCKS_PER_PRODUCT - 1));
    expect(Math.min(...productPuts)).toBeGreaterThan(puts * 0.4);
  }, 180_000);
});
