import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "@jest/globals";
import {
  addResponseHeader,
  collectLaneHeaders,
  endToEndHeaders,
  sentHeaders,
  writeProxiedHead,
} from "../../src/pipeline/lane-response.js";

let server: http.Server | undefined;

afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** Answers one request with `handler` and returns what the client received. */
async function answer(handler: (res: ServerResponse) => void): Promise<IncomingMessage> {
  server = http.createServer((_req, res) => handler(res));
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    http
      .get({ port, host: "127.0.0.1", path: "/", agent: false }, (res) => {
        res.resume();
        res.on("end", () => resolve(res));
      })
      .on("error", reject);
  });
}

/** The values of `name` in a response's raw headers, in order. */
function valuesOf(res: IncomingMessage, name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < res.rawHeaders.length; i += 2) {
    if (res.rawHeaders[i]?.toLowerCase() === name) values.push(res.rawHeaders[i + 1] as string);
  }
  return values;
}

/** An upstream's raw headers: a request id of its own, two cookies, hop-by-hop ones. */
const UPSTREAM_RAW = [
  "Content-Type",
  "application/json",
  "X-Request-Id",
  "upstream-id",
  "Set-Cookie",
  "a=1",
  "Set-Cookie",
  "b=2",
  "Connection",
  "keep-alive",
  "Keep-Alive",
  "timeout=5",
  "Content-Length",
  "2",
];

describe("the fast lane's response head", () => {
  it("drops the upstream's hop-by-hop headers and keeps the rest as written", () => {
    expect(endToEndHeaders(UPSTREAM_RAW)).toEqual(
      UPSTREAM_RAW.slice(0, 8).concat(UPSTREAM_RAW.slice(12)),
    );
  });

  it("writes the collected headers with the upstream's, the upstream's winning a name", async () => {
    let sent: http.OutgoingHttpHeaders = {};
    const res = await answer((out) => {
      collectLaneHeaders(out, ["X-Frame-Options", "DENY"]);
      addResponseHeader(out, "X-Request-Id", "gateway-id");
      addResponseHeader(out, "RateLimit", '"anonymous"; r=9; t=60', true);
      writeProxiedHead(out, 200, "OK", endToEndHeaders(UPSTREAM_RAW));
      out.end("{}");
      sent = sentHeaders(out);
    });

    expect(res.statusCode).toBe(200);
    expect(valuesOf(res, "x-request-id")).toEqual(["upstream-id"]);
    expect(valuesOf(res, "set-cookie")).toEqual(["a=1", "b=2"]);
    expect(valuesOf(res, "x-frame-options")).toEqual(["DENY"]);
    expect(valuesOf(res, "ratelimit")).toEqual(['"anonymous"; r=9; t=60']);
    expect(valuesOf(res, "keep-alive")).not.toContain("timeout=5");
    expect(sent["content-type"]).toBe("application/json");
    expect(sent["x-frame-options"]).toBe("DENY");
  });

  it("merges into headers set one by one before, repeated names kept", async () => {
    const res = await answer((out) => {
      collectLaneHeaders(out, ["X-Frame-Options", "DENY"]);
      out.setHeader("Vary", "Origin");
      out.setHeader("X-Request-Id", "earlier");
      writeProxiedHead(out, 201, undefined, endToEndHeaders(UPSTREAM_RAW));
      out.end("{}");
    });

    expect(res.statusCode).toBe(201);
    expect(valuesOf(res, "vary")).toEqual(["Origin"]);
    expect(valuesOf(res, "x-request-id")).toEqual(["upstream-id"]);
    expect(valuesOf(res, "set-cookie")).toEqual(["a=1", "b=2"]);
    expect(valuesOf(res, "x-frame-options")).toEqual(["DENY"]);
  });

  it("sends the collected headers with a head Node writes itself (a Problem)", async () => {
    const res = await answer((out) => {
      collectLaneHeaders(out, ["X-Frame-Options", "DENY"]);
      addResponseHeader(out, "X-Request-Id", "gateway-id");
      out.statusCode = 429;
      out.setHeader("Content-Type", "application/problem+json");
      out.end("{}");
    });

    expect(res.statusCode).toBe(429);
    expect(res.headers["content-type"]).toBe("application/problem+json");
    expect(res.headers["x-request-id"]).toBe("gateway-id");
    expect(res.headers["x-frame-options"]).toBe("DENY");
  });

  it("sets headers on a response the lane did not take", async () => {
    const res = await answer((out) => {
      addResponseHeader(out, "X-Request-Id", "gateway-id");
      out.setHeader("X-Frame-Options", "DENY");
      writeProxiedHead(out, 200, undefined, endToEndHeaders(UPSTREAM_RAW));
      out.end("{}");
    });

    expect(valuesOf(res, "x-request-id")).toEqual(["upstream-id"]);
    expect(valuesOf(res, "set-cookie")).toEqual(["a=1", "b=2"]);
    expect(res.headers["x-frame-options"]).toBe("DENY");
  });
});
