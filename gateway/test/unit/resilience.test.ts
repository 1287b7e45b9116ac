import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "@jest/globals";
import { loadContract } from "@portico/contracts";
import { BrokenCircuitError } from "cockatiel";
import { compileOperationTable } from "../../src/operations/table.js";
import { UpstreamTimeoutError } from "../../src/upstreams/proxy.js";
import {
  breakerOpenProblem,
  ClientGoneError,
  createUpstreamResilience,
  isIdempotent,
  isRetryable,
  NoInstanceError,
  operationTimeoutOf,
  resilienceSettings,
  UpstreamStatusError,
} from "../../src/upstreams/resilience.js";
import { UPSTREAMS } from "../support/upstreams.js";

const withCode = (code: string) => Object.assign(new Error(code), { code });
const answered = (status: number) =>
  new UpstreamStatusError("products", { statusCode: status } as IncomingMessage);

describe("isIdempotent", () => {
  it.each([
    ["GET", true],
    ["head", true],
    ["PUT", true],
    ["DELETE", true],
    ["OPTIONS", true],
    ["POST", false],
    ["PATCH", false],
  ])("%s: %s", (method, idempotent) => {
    expect(isIdempotent(method)).toBe(idempotent);
  });
});

describe("isRetryable", () => {
  it("retries a refused connection whatever the method: the service never saw the request", () => {
    expect(isRetryable(withCode("ECONNREFUSED"), "POST")).toBe(true);
    expect(isRetryable(withCode("ECONNREFUSED"), "GET")).toBe(true);
  });

  it("retries a 502/503/504 answer and a reset connection for idempotent methods only", () => {
    expect(isRetryable(answered(503), "GET")).toBe(true);
    expect(isRetryable(answered(502), "PUT")).toBe(true);
    expect(isRetryable(withCode("ECONNRESET"), "DELETE")).toBe(true);
    expect(isRetryable(answered(503), "POST")).toBe(false);
    expect(isRetryable(answered(504), "PATCH")).toBe(false);
    expect(isRetryable(withCode("ECONNRESET"), "POST")).toBe(false);
  });

  it("never retries after a timeout, an open breaker, no instance, or a client gone", () => {
    expect(isRetryable(new UpstreamTimeoutError("products", 300), "GET")).toBe(false);
    expect(isRetryable(new BrokenCircuitError(), "GET")).toBe(false);
    expect(isRetryable(new NoInstanceError("products"), "GET")).toBe(false);
    expect(isRetryable(new ClientGoneError(), "GET")).toBe(false);
  });
});

describe("createUpstreamResilience", () => {
  const settings = {
    retries: 2,
    retryBaseMs: 1,
    retryMaxMs: 2,
    breakerFailures: 3,
    breakerHalfOpenMs: 200,
  };

  it("retries an idempotent attempt up to the bound, then gives up with the last error", async () => {
    const resilience = createUpstreamResilience("products", { ...settings, breakerFailures: 10 });
    let calls = 0;

    const outcome = resilience.execute("GET", async () => {
      calls += 1;
      throw answered(503);
    });

    await expect(outcome).rejects.toBeInstanceOf(UpstreamStatusError);
    expect(calls).toBe(3);
  });

  it("calls a POST once when the service answered 503", async () => {
    const resilience = createUpstreamResilience("products", settings);
    let calls = 0;

    const outcome = resilience.execute("POST", async () => {
      calls += 1;
      throw answered(503);
    });

    await expect(outcome).rejects.toBeInstanceOf(UpstreamStatusError);
    expect(calls).toBe(1);
  });

  it("opens after N consecutive failures, refuses without calling, half-opens and closes", async () => {
    const resilience = createUpstreamResilience("products", { ...settings, retries: 0 });
    const states: string[] = [];
    resilience.onStateChange((state) => states.push(state));
    let calls = 0;
    const failing = async () => {
      calls += 1;
      throw answered(502);
    };

    for (let i = 0; i < 3; i += 1) {
      await expect(resilience.execute("GET", failing)).rejects.toBeInstanceOf(UpstreamStatusError);
    }
    expect(resilience.state()).toBe("open");
    await expect(resilience.execute("GET", failing)).rejects.toBeInstanceOf(BrokenCircuitError);
    expect(calls).toBe(3);
    expect(resilience.retryAfterSeconds()).toBe(1);

    await new Promise((resolve) => setTimeout(resolve, 250));
    let release = () => {};
    const trial = resilience.execute(
      "GET",
      () => new Promise<string>((resolve) => (release = () => resolve("ok"))),
    );
    expect(resilience.state()).toBe("half-open");
    release();

    await expect(trial).resolves.toBe("ok");
    expect(resilience.state()).toBe("closed");
    expect(states).toEqual(["open", "half-open", "closed"]);
  });

  it("does not count 'no instance available' against the service", async () => {
    const resilience = createUpstreamResilience("products", { ...settings, retries: 0 });

    for (let i = 0; i < 5; i += 1) {
      await expect(
        resilience.execute("GET", async () => {
          throw new NoInstanceError("products");
        }),
      ).rejects.toBeInstanceOf(NoInstanceError);
    }

    expect(resilience.state()).toBe("closed");
  });
});

describe("breakerOpenProblem", () => {
  it("answers 503 with Retry-After in seconds", () => {
    const problem = breakerOpenProblem("products", 7);

    expect(problem.status).toBe(503);
    expect(problem.headers).toEqual({ "Retry-After": "7" });
    expect(problem.message).toMatch(/products service is failing/);
  });
});

describe("operation timeouts", () => {
  const contractWith = (value: unknown) => ({
    paths: {
      "/slow": {
        get: { operationId: "getSlow", "x-portico-service": "s", "x-portico-timeout-ms": value },
      },
      "/fast": { get: { operationId: "getFast", "x-portico-service": "s" } },
    },
  });
  const upstreams = { s: "http://127.0.0.1:1" };

  it("reads x-portico-timeout-ms per operationId", () => {
    const timeoutOf = operationTimeoutOf(compileOperationTable(contractWith(30_000), upstreams));
    const req = (operationId: string) =>
      ({ openapi: { schema: { operationId } } }) as unknown as IncomingMessage;
    expect(timeoutOf(req("getSlow"))).toBe(30_000);
    expect(timeoutOf(req("getFast"))).toBeUndefined();
  });

  it.each([0, -5, 1.5, "100"])("refuses %p, naming the operation", (value) => {
    expect(() => compileOperationTable(contractWith(value), upstreams)).toThrow(
      /getSlow: x-portico-timeout-ms is invalid/,
    );
  });

  it("gives the dead-letter replay of the public contract its own timeout", () => {
    const table = compileOperationTable(loadContract("public"), UPSTREAMS);
    expect(table.byId("replayDeadLetter")?.timeoutMs).toBe(25_000);
  });
});

describe("resilienceSettings", () => {
  it("takes the configuration and defaults the rest", () => {
    expect(resilienceSettings({ UPSTREAM_RETRIES: 0, UPSTREAM_BREAKER_FAILURES: 9 })).toEqual({
      retries: 0,
      retryBaseMs: 100,
      retryMaxMs: 1_000,
      breakerFailures: 9,
      breakerHalfOpenMs: 10_000,
    });
  });
});
