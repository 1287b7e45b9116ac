/**
 * One trace covers the whole journey of a restock down to the notification, across the real
 * processes of the system (`startTestSystem`: gateway and services as separate Node processes,
 * their own nats-server, fresh databases). Each process exports its spans over OTLP/HTTP to a
 * tiny in-memory collector started here — the real exporter path, configured only by
 * `OTEL_EXPORTER_OTLP_ENDPOINT` as in production. In-process wiring would let one
 * InMemorySpanExporter see everything but could not prove that the context crossed process
 * boundaries (HTTP headers, the outbox row, NATS headers), which is the point.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createPorticoClient, type PorticoClient, unwrap } from "@portico/client";
import {
  type CollectedSpan,
  type OtlpCollector,
  startOtlpCollector,
} from "../../src/testing/otlp-collector.js";
import { startTestSystem, type TestSystem } from "../../src/testing/system.js";

/** OTLP SpanKind values. */
const SERVER = 2;
const CLIENT = 3;
const PRODUCER = 4;
const CONSUMER = 5;

let collector: OtlpCollector;
let system: TestSystem;
let admin: PorticoClient;
let customer: PorticoClient;
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  collector = await startOtlpCollector();
  // Read by every process startTestSystem spawns (their environment starts from this one).
  const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_BSP_SCHEDULE_DELAY: "100" };
  for (const [name, value] of Object.entries(otel)) {
    saved[name] = process.env[name];
    process.env[name] = value;
  }
  system = await startTestSystem("e2e-trace");
  admin = createPorticoClient({ baseUrl: system.urls.gateway });
  await unwrap(
    admin.POST("/users", {
      body: { email: system.adminEmail, password: "an-admin-password", name: "Admin" },
    }),
  );
  await admin.signIn(system.adminEmail, "an-admin-password");
  customer = createPorticoClient({ baseUrl: system.urls.gateway });
  const email = `tracer-${Date.now()}@example.com`;
  await unwrap(customer.POST("/users", { body: { email, password: "a-password", name: "Ada" } }));
  await customer.signIn(email, "a-password");
}, 120_000);

afterAll(async () => {
  await system?.stop();
  await collector?.close();
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
}, 60_000);

/** The span a process reports for one hop: who reported it, its OTLP kind and its name. */
type Hop = { service: string; kind: number; name: string };

/**
 * Waits until the trace holds a span for every hop, then returns the whole trace. Each process
 * exports on its own batch schedule, so the last hop's span can reach the collector before an
 * earlier hop's: waiting for the last one alone raced with the gateway's export on a busy CI.
 */
async function traceWithAll(
  traceId: string,
  hops: readonly Hop[],
  timeoutMs = 20_000,
): Promise<CollectedSpan[]> {
  const complete = (spans: CollectedSpan[]) =>
    hops.every((hop) => spans.some((s) => matches(s, hop)));
  const deadline = Date.now() + timeoutMs;
  while (!complete(collector.trace(traceId)) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return collector.trace(traceId);
}

function matches(span: CollectedSpan, hop: Hop): boolean {
  return span.service === hop.service && span.kind === hop.kind && span.name === hop.name;
}

describe("tracing across processes", () => {
  it("puts the restock, its event, the consumer and the notification insert in one trace", async () => {
    const product = await unwrap(
      admin.POST("/products", {
        body: { name: "Traced lamp", price: { amount: 1999, currency: "EUR" }, stock: 0 },
      }),
    );
    await unwrap(customer.POST("/subscriptions", { body: { productId: product.id } }));
    const traceId = randomBytes(16).toString("hex");
    const callerSpanId = randomBytes(8).toString("hex");
    const requestId = `restock-${traceId.slice(0, 8)}`;

    const response = await fetch(`${system.urls.gateway}/products/${product.id}/stock`, {
      method: "PUT",
      headers: {
        Authorization: `Bearer ${admin.token}`,
        "Content-Type": "application/json",
        traceparent: `00-${traceId}-${callerSpanId}-01`,
        "X-Request-Id": requestId,
      },
      body: JSON.stringify({ quantity: 5 }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-request-id")).toBe(requestId);

    const route = "PUT /products/{productId}/stock";
    const hops = {
      gatewayServer: { service: "gateway", kind: SERVER, name: route },
      gatewayClient: { service: "gateway", kind: CLIENT, name: "PUT products" },
      productsServer: { service: "products", kind: SERVER, name: route },
      publish: {
        service: "products",
        kind: PRODUCER,
        name: "publish products.product.back_in_stock",
      },
      consume: {
        service: "notifications",
        kind: CONSUMER,
        name: "process products.product.back_in_stock",
      },
      insert: { service: "notifications", kind: CLIENT, name: "INSERT notifications" },
      lookup: {
        service: "notifications",
        kind: CLIENT,
        name: "request users.query.getUserContact",
      },
      serveLookup: { service: "users", kind: SERVER, name: "serve users.query.getUserContact" },
    } satisfies Record<string, Hop>;
    const spans = await traceWithAll(traceId, Object.values(hops));
    const find = (hop: Hop) => spans.find((s) => matches(s, hop));
    const gatewayServer = find(hops.gatewayServer);
    const gatewayClient = find(hops.gatewayClient);
    const productsServer = find(hops.productsServer);
    const publish = find(hops.publish);
    const consume = find(hops.consume);
    const insert = find(hops.insert);

    // Each hop's span is the child of the previous one: the context crossed every boundary.
    expect(gatewayServer?.parentSpanId).toBe(callerSpanId);
    expect(gatewayServer?.attributes["portico.request_id"]).toBe(requestId);
    expect(gatewayClient?.parentSpanId).toBe(gatewayServer?.spanId);
    expect(productsServer?.parentSpanId).toBe(gatewayClient?.spanId);
    expect(productsServer?.attributes["portico.operation_id"]).toBe("setProductStock");
    expect(productsServer?.attributes["portico.request_id"]).toBe(requestId);
    expect(publish?.parentSpanId).toBe(productsServer?.spanId);
    expect(consume?.parentSpanId).toBe(publish?.spanId);
    expect(insert?.parentSpanId).toBe(consume?.spanId);
    // The consumer's lookup of the subscriber's contact is in it too, answered by users.
    const lookup = find(hops.lookup);
    expect(lookup?.parentSpanId).toBe(consume?.spanId);
    expect(find(hops.serveLookup)?.parentSpanId).toBe(lookup?.spanId);
  }, 60_000);
});
