/**
 * A tiny OpenTelemetry collector for tests: an OTLP/HTTP endpoint (`POST /v1/traces`, JSON
 * encoding — what `@opentelemetry/exporter-trace-otlp-http` sends) that keeps every span it
 * receives in memory. Point processes at it with `OTEL_EXPORTER_OTLP_ENDPOINT=<url>`.
 * Specification: https://opentelemetry.io/docs/specs/otlp/#otlphttp (JSON: ids as hex strings).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** One span as received, flattened. */
export interface CollectedSpan {
  /** `service.name` of the process that sent it. */
  service: string;
  traceId: string;
  spanId: string;
  /** Absent for a root span. */
  parentSpanId: string | undefined;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  attributes: Record<string, string | number | boolean>;
}

/** A running collector. */
export interface OtlpCollector {
  /** Base URL, the value for `OTEL_EXPORTER_OTLP_ENDPOINT`. */
  url: string;
  /** Every span received so far, in arrival order. */
  readonly spans: readonly CollectedSpan[];
  /** The spans of one trace. */
  trace(traceId: string): CollectedSpan[];
  close(): Promise<void>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}

interface OtlpKeyValue {
  key: string;
  value?: OtlpValue;
}

interface ExportTraceServiceRequest {
  resourceSpans?: {
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: {
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind?: number;
        attributes?: OtlpKeyValue[];
      }[];
    }[];
  }[];
}

function attributesOf(list: OtlpKeyValue[] | undefined): Record<string, string | number | boolean> {
  const attributes: Record<string, string | number | boolean> = {};
  for (const { key, value } of list ?? []) {
    if (value?.stringValue !== undefined) attributes[key] = value.stringValue;
    else if (value?.intValue !== undefined) attributes[key] = Number(value.intValue);
    else if (value?.doubleValue !== undefined) attributes[key] = value.doubleValue;
    else if (value?.boolValue !== undefined) attributes[key] = value.boolValue;
  }
  return attributes;
}

/** Flattens one OTLP/JSON export request into spans. */
export function spansOfExport(request: ExportTraceServiceRequest): CollectedSpan[] {
  return (request.resourceSpans ?? []).flatMap((resourceSpans) => {
    const service = String(attributesOf(resourceSpans.resource?.attributes)["service.name"] ?? "");
    return (resourceSpans.scopeSpans ?? []).flatMap((scope) =>
      (scope.spans ?? []).map((span) => ({
        service,
        traceId: span.traceId,
        spanId: span.spanId,
        parentSpanId: span.parentSpanId || undefined,
        name: span.name,
        kind: span.kind ?? 0,
        attributes: attributesOf(span.attributes),
      })),
    );
  });
}

/** Starts a collector on a free local port. */
export async function startOtlpCollector(): Promise<OtlpCollector> {
  const spans: CollectedSpan[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/v1/traces") {
        res.writeHead(404).end();
        return;
      }
      if (!String(req.headers["content-type"]).startsWith("application/json")) {
        res.writeHead(415).end();
        return;
      }
      try {
        spans.push(...spansOfExport(JSON.parse(Buffer.concat(chunks).toString("utf8"))));
      } catch {
        res.writeHead(400).end();
        return;
      }
      res.writeHead(200, { "Content-Type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    trace: (traceId) => spans.filter((span) => span.traceId === traceId),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
