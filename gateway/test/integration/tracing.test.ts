/**
 * Trace context through the gateway, with spans recorded in memory: the caller's `traceparent`
 * becomes the parent of the gateway's SERVER span, each upstream attempt is a CLIENT span under
 * it, and the upstream receives a `traceparent` naming that CLIENT span (plus the request id).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-node";
import { startTelemetry, type Telemetry } from "@portico/kit";
import {
  allHealthy,
  answer,
  type RunningGateway,
  startGateway,
  startUpstreams,
  type Upstreams,
} from "../support/gateway.js";

const exporter = new InMemorySpanExporter();
let telemetry: Telemetry;
let upstreams: Upstreams;
let gateway: RunningGateway;

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN_ID = "00f067aa0ba902b7";
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

beforeAll(async () => {
  telemetry = await startTelemetry({
    serviceName: "gateway",
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  upstreams = await startUpstreams();
  gateway = await startGateway(upstreams, { UPSTREAM_RETRIES: "1" });
  await allHealthy(gateway.gateway);
});

afterAll(async () => {
  await gateway.close();
  await upstreams.close();
  await telemetry.shutdown();
});

beforeEach(() => {
  upstreams.reset();
  exporter.reset();
});

/** The finished spans of `traceId` once `count` of them are there (spans end on response close). */
async function spansOf(traceId: string, count: number): Promise<ReadableSpan[]> {
  const deadline = Date.now() + 5_000;
  const of = () => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
  while (of().length < count && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return of();
}

describe("trace context through the gateway", () => {
  it("continues the caller's trace and hands the upstream its CLIENT span as parent", async () => {
    const response = await fetch(`${gateway.url}/products?limit=5`, {
      headers: {
        traceparent: `00-${TRACE_ID}-${CALLER_SPAN_ID}-01`,
        "X-Request-Id": "trace-test-1",
      },
    });

    expect(response.status).toBe(200);
    const received = upstreams.services.get("products")?.flatMap((u) => u.received) ?? [];
    expect(received).toHaveLength(1);
    const [, traceId, parentId] = TRACEPARENT.exec(String(received[0]?.headers.traceparent)) ?? [];
    expect(traceId).toBe(TRACE_ID);
    expect(received[0]?.headers["x-request-id"]).toBe("trace-test-1");

    const spans = await spansOf(TRACE_ID, 2);
    const server = spans.find((s) => s.name === "GET /products");
    const client = spans.find((s) => s.name === "GET products");
    expect(server?.parentSpanContext?.spanId).toBe(CALLER_SPAN_ID);
    expect(server?.attributes).toMatchObject({
      "portico.operation_id": "listProducts",
      "http.route": "/products",
      "http.response.status_code": 200,
      "portico.request_id": "trace-test-1",
    });
    expect(client?.parentSpanContext?.spanId).toBe(server?.spanContext().spanId);
    expect(client?.spanContext().spanId).toBe(parentId);
    expect(client?.attributes["portico.upstream"]).toBe("products");
  });

  it("starts a trace when the caller sent none", async () => {
    await fetch(`${gateway.url}/products`);

    const received = upstreams.services.get("products")?.flatMap((u) => u.received) ?? [];
    const [, traceId] = TRACEPARENT.exec(String(received[0]?.headers.traceparent)) ?? [];
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const spans = await spansOf(String(traceId), 2);
    expect(spans.map((s) => s.name).sort()).toEqual(["GET /products", "GET products"]);
  });

  it("records one CLIENT span per attempt when a request is retried", async () => {
    const [first, second] = upstreams.services.get("products") ?? [];
    if (!first || !second) throw new Error("two products instances expected");
    let calls = 0;
    const flaky = (...args: Parameters<typeof first.respond>) => {
      calls += 1;
      (calls === 1 ? answer(503) : answer(200))(...args);
    };
    first.respond = flaky;
    second.respond = flaky;

    const response = await fetch(`${gateway.url}/products`, {
      headers: { traceparent: `00-${TRACE_ID}-${CALLER_SPAN_ID}-01` },
    });

    expect(response.status).toBe(200);
    const spans = await spansOf(TRACE_ID, 3);
    const server = spans.find((s) => s.name === "GET /products");
    const attempts = spans.filter((s) => s.name === "GET products");
    expect(attempts.map((s) => s.attributes["http.request.resend_count"]).sort()).toEqual([0, 1]);
    expect(attempts.map((s) => s.attributes["http.response.status_code"]).sort()).toEqual([
      200, 503,
    ]);
    for (const attempt of attempts) {
      expect(attempt.parentSpanContext?.spanId).toBe(server?.spanContext().spanId);
    }
  });

  it("does not trace probes and scrapes", async () => {
    await fetch(`${gateway.url}/healthz`);
    await fetch(`${gateway.url}/metrics`);

    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});
