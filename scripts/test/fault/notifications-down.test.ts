/**
 * Fault scenario a: the notifications service is stopped while 200 restocks of subscribed
 * products happen; after it restarts, every subscriber has exactly one notification and one email
 * per back-in-stock event.
 *
 * The whole system runs as separate processes (startTestSystem: its own nats-server, SMTP sink and
 * databases). Four customers subscribe to 20 products (two subscribers each); with notifications
 * stopped, each product is restocked 10 times (stock 0, then k = 1…10), so 200 back_in_stock
 * events wait in JetStream for the durable consumer. Each event is identified in the inbox and in
 * the mail by its product and its stock k ("(k available)"), so a lost or doubled effect is
 * counted per event and subscriber.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createPorticoClient, type PorticoClient, unwrap } from "@portico/client";
import { waitFor } from "../../src/demo/journey.js";
import { recordScenario } from "../../src/reliability/record.js";
import { listMessages } from "../../src/testing/mail.js";
import { startTestSystem, type TestSystem } from "../../src/testing/system.js";

const CUSTOMERS = 4;
const PRODUCTS = 20;
const RESTOCKS_PER_PRODUCT = 10;
const EVENTS = PRODUCTS * RESTOCKS_PER_PRODUCT;
/** Each product's subscribers: customers i and i+1 (mod 4). */
const subscribersOf = (product: number) => [product % CUSTOMERS, (product + 1) % CUSTOMERS];

let system: TestSystem;
let admin: PorticoClient;
const customers: { client: PorticoClient; email: string }[] = [];
const products: { id: string; name: string }[] = [];

beforeAll(async () => {
  system = await startTestSystem("fault-a-notifications-down");
  const gateway = system.urls.gateway;
  admin = createPorticoClient({ baseUrl: gateway });
  await unwrap(
    admin.POST("/users", {
      body: { email: system.adminEmail, password: "fault-a-admin", name: "Admin" },
    }),
  );
  await admin.signIn(system.adminEmail, "fault-a-admin");
  for (let i = 0; i < CUSTOMERS; i++) {
    const email = `fault-a-customer-${i}@example.com`;
    const client = createPorticoClient({ baseUrl: gateway });
    await unwrap(
      client.POST("/users", { body: { email, password: "fault-a-pass", name: `C${i}` } }),
    );
    await client.signIn(email, "fault-a-pass");
    customers.push({ client, email });
  }
  for (let p = 0; p < PRODUCTS; p++) {
    const name = `Fault-a item ${String(p).padStart(2, "0")}`;
    const product = await unwrap(
      admin.POST("/products", {
        body: {
          name,
          description: "Restocked while notifications is down",
          price: { amount: 100, currency: "EUR" },
          stock: 0,
        },
      }),
    );
    products.push({ id: product.id, name });
    for (const c of subscribersOf(p)) {
      const customer = customers[c] as (typeof customers)[number];
      await unwrap(customer.client.POST("/subscriptions", { body: { productId: product.id } }));
    }
  }
}, 120_000);

afterAll(async () => {
  await system?.stop();
}, 60_000);

/** Sets a product's stock through the gateway. */
async function setStock(productId: string, quantity: number): Promise<void> {
  await unwrap(
    admin.PUT("/products/{productId}/stock", {
      params: { path: { productId } },
      body: { quantity },
    }),
  );
}

/** Every notification of a customer, all pages. */
async function inbox(client: PorticoClient) {
  const items: { productId: string; body: string }[] = [];
  let cursor: string | undefined;
  do {
    const page = await unwrap(
      client.GET("/notifications", {
        params: { query: { limit: 100, ...(cursor ? { cursor } : {}) } },
      }),
    );
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return items;
}

/** How many times each key occurs. */
function tally(keys: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  return counts;
}

/** Effects expected (one per event and subscriber), and which are missing or extra. */
function compare(expected: Set<string>, observed: Map<string, number>) {
  let lost = 0;
  let duplicated = 0;
  for (const key of expected) {
    const n = observed.get(key) ?? 0;
    if (n === 0) lost += 1;
    if (n > 1) duplicated += n - 1;
  }
  for (const [key, n] of observed) if (!expected.has(key)) duplicated += n;
  return { lost, duplicated };
}

describe("fault a: notifications is down while products are restocked", () => {
  it("delivers exactly one notification and one email per event and subscriber after the restart", async () => {
    const started = Date.now();
    await system.stopProcess("notifications");
    const stoppedAt = Date.now();

    // 200 back_in_stock events: products in parallel, each product's restocks in order.
    await Promise.all(
      products.map(async (product) => {
        for (let k = 1; k <= RESTOCKS_PER_PRODUCT; k++) {
          if (k > 1) await setStock(product.id, 0);
          await setStock(product.id, k);
        }
      }),
    );
    const restockedAt = Date.now();

    await system.startProcess("notifications");
    const restartedAt = Date.now();

    const expected = new Set<string>();
    for (const [p, product] of products.entries()) {
      for (const c of subscribersOf(p)) {
        for (let k = 1; k <= RESTOCKS_PER_PRODUCT; k++) expected.add(`${c}|${product.name}|${k}`);
      }
    }
    const byName = new Map(products.map((p) => [p.id, p.name]));
    const notificationKeys = async () =>
      (
        await Promise.all(
          customers.map(async ({ client }, c) =>
            (
              await inbox(client)
            ).map((n) => {
              const k = /\((\d+) available\)/.exec(n.body)?.[1];
              return `${c}|${byName.get(n.productId)}|${k}`;
            }),
          ),
        )
      ).flat();
    const customerOf = new Map(customers.map((c, i) => [c.email, i]));
    const emailKeys = async () =>
      (await listMessages(system.urls.mailApi, 1_000)).messages.map((m) => {
        const k = /with (\d+) available/.exec(m.Snippet)?.[1];
        const subject = m.Subject.replace(/ is back in stock$/, "");
        return `${customerOf.get(m.To[0]?.Address ?? "")}|${subject}|${k}`;
      });

    const expectedEffects = expected.size;
    await waitFor(
      "every notification and email",
      async () => {
        // The gateway may still count notifications as down (its health probe): 503 until then.
        const inboxes = await notificationKeys().catch(() => []);
        const mails = await emailKeys();
        return inboxes.length >= expectedEffects && mails.length >= expectedEffects
          ? true
          : undefined;
      },
      90_000,
    );
    // Let any late duplicate (a redelivery, a second send) show up before counting.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const notifications = tally(await notificationKeys());
    const emails = tally(await emailKeys());
    const inboxResult = compare(expected, notifications);
    const mailResult = compare(expected, emails);
    const settledAt = Date.now();
    // Nothing was given up on (the admin operation, routed by the gateway from the contract).
    const deadLetters = await admin.GET("/admin/dead-letters");

    await recordScenario({
      id: "a",
      scenario:
        "notifications stopped while 200 restocks of subscribed products happen, then restarted",
      sent: EVENTS,
      effects: [...notifications.values(), ...emails.values()].reduce((a, b) => a + b, 0),
      lost: inboxResult.lost + mailResult.lost,
      duplicated: inboxResult.duplicated + mailResult.duplicated,
      notes:
        `${EVENTS} back_in_stock events × 2 subscribers: expected ${expectedEffects} notifications ` +
        `+ ${expectedEffects} emails. Stop ${stoppedAt - started} ms, restocks ${restockedAt - stoppedAt} ms, ` +
        `restart ${restartedAt - restockedAt} ms, catch-up ${settledAt - restartedAt} ms (incl. 2 s quiet period); ` +
        `dead letters: ${deadLetters.data?.items.length ?? deadLetters.response.status}.`,
    });

    expect(inboxResult).toEqual({ lost: 0, duplicated: 0 });
    expect(mailResult).toEqual({ lost: 0, duplicated: 0 });
    expect(notifications.size).toBe(expectedEffects);
    expect(emails.size).toBe(expectedEffects);
    expect(deadLetters.response.status).toBe(200);
    expect(deadLetters.data?.items).toEqual([]);
  }, 180_000);
});
