/**
 * startTelemetry's switch: off (nothing recorded, nothing loaded) without an exporter, and the
 * OTLP/HTTP exporter path when OTEL_EXPORTER_OTLP_ENDPOINT names a collector (a tiny in-memory
 * one here); plus the pure helpers.
 */
import { describe, expect, it } from "@jest/globals";
import { type OtlpCollector, startOtlpCollector } from "@portico/scripts/testing/otlp-collector";
import {
  activeTraceparent,
  otlpTracesUrl,
  SpanKind,
  sqlSpanName,
  startTelemetry,
  tracingEnabled,
  withSpan,
} from "../../src/telemetry.js";
import { waitFor } from "../support/wait.js";

describe("otlpTracesUrl", () => {
  it.each([
    [{}, undefined],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "  " }, undefined],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }, "http://collector:4318/v1/traces"],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" }, "http://collector:4318/v1/traces"],
    [
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://traces:4318/custom",
      },
      "http://traces:4318/custom",
    ],
  ])("%p → %p", (env, url) => {
    expect(otlpTracesUrl(env)).toBe(url);
  });
});

describe("sqlSpanName", () => {
  it.each([
    ['insert into "notifications" ("id") values ($1)', "INSERT notifications"],
    ['select "id" from "outbox" where x = $1', "SELECT outbox"],
    ["update outbox set published_at = now()", "UPDATE outbox"],
    ['delete from "seen"', "DELETE seen"],
    ["begin", "BEGIN"],
    ["  select 1", "SELECT"],
  ])("%s → %s", (statement, name) => {
    expect(sqlSpanName(statement)).toBe(name);
  });
});

describe("startTelemetry", () => {
  it("stays off without an exporter: spans are not recorded and nothing is propagated", async () => {
    const telemetry = await startTelemetry({ serviceName: "off", env: {} });
    const disabled = await startTelemetry({
      serviceName: "off",
      env: { OTEL_SDK_DISABLED: "true", OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:1" },
    });

    expect(telemetry.enabled).toBe(false);
    expect(disabled.enabled).toBe(false);
    expect(tracingEnabled()).toBe(false);
    const inside = await withSpan("work", {}, async (span) => ({
      recording: span.isRecording(),
      traceparent: activeTraceparent(),
    }));
    expect(inside).toEqual({ recording: false, traceparent: undefined });
  });

  it("exports spans over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT, with the service name", async () => {
    let collector: OtlpCollector | undefined;
    try {
      collector = await startOtlpCollector();
      const telemetry = await startTelemetry({
        serviceName: "kit-test",
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url },
      });
      expect(telemetry.enabled).toBe(true);

      const traceparent = await withSpan("outer", { kind: SpanKind.SERVER }, () =>
        withSpan("inner", {}, async () => activeTraceparent()),
      );
      await telemetry.shutdown();

      const spans = await waitFor("two exported spans", () =>
        collector && collector.spans.length >= 2 ? collector.spans : undefined,
      );
      const outer = spans.find((s) => s.name === "outer");
      const inner = spans.find((s) => s.name === "inner");
      expect(outer).toMatchObject({ service: "kit-test", kind: 2, parentSpanId: undefined });
      expect(inner?.parentSpanId).toBe(outer?.spanId);
      expect(traceparent).toBe(`00-${inner?.traceId}-${inner?.spanId}-01`);
      expect(tracingEnabled()).toBe(false);
    } finally {
      await collector?.close();
    }
  });
});
