import { describe, expect, it } from "@jest/globals";
import { loadContract } from "@portico/contracts";
import { compileOperationTable, contractServices } from "../../src/operations/table.js";
import { parseUpstreamList, upstreamEnvVar } from "../../src/operations/upstream-list.js";

import { PUBLIC_SERVICES, UPSTREAMS } from "../support/upstreams.js";

function contractOf(paths: Record<string, unknown>): Record<string, unknown> {
  return { openapi: "3.1.0", info: { title: "t", version: "1" }, paths };
}

describe("upstreamEnvVar", () => {
  it.each([
    ["users", "USERS_URL"],
    ["products", "PRODUCTS_URL"],
    ["ml-models", "ML_MODELS_URL"],
  ])("names the variable of %s %s", (service, variable) => {
    expect(upstreamEnvVar(service)).toBe(variable);
  });
});

describe("contractServices", () => {
  it("lists each owning service of the public contract once, in document order", () => {
    const owners = Object.values(loadContract("public").paths as Record<string, object>)
      .flatMap((item) => Object.values(item as Record<string, { "x-portico-service"?: string }>))
      .map((operation) => operation["x-portico-service"])
      .filter((service) => service !== undefined && service !== "gateway");
    const services = contractServices(loadContract("public"));

    expect(services).toEqual([...new Set(owners)]);
    expect(services).toEqual(expect.arrayContaining(["users", "products", "notifications", "ml"]));
  });

  it("throws naming an operation without x-portico-service", () => {
    const contract = contractOf({ "/things": { get: { operationId: "listThings" } } });

    expect(() => contractServices(contract)).toThrow(/x-portico-service: listThings/);
  });
});

describe("compileOperationTable", () => {
  const table = compileOperationTable(loadContract("public"), UPSTREAMS);

  it("has one route per operation of the public contract", () => {
    const paths = loadContract("public").paths as Record<string, Record<string, unknown>>;
    const operations = Object.values(paths).flatMap((item) =>
      Object.values(item).filter(
        (op) => typeof (op as { operationId?: unknown }).operationId === "string",
      ),
    );

    expect(table.operations).toHaveLength(operations.length);
    expect(new Set(table.operations.map((r) => r.operationId)).size).toBe(operations.length);
  });

  it.each([
    ["POST", "/auth/token", "issueToken", "users"],
    ["get", "/users/{userId}", "getUser", "users"],
    ["PUT", "/products/{productId}/stock", "setProductStock", "products"],
    ["DELETE", "/subscriptions/{subscriptionId}", "deleteSubscription", "notifications"],
    ["POST", "/ml/sentiment:batch", "analyzeSentimentBatch", "ml"],
  ])("maps %s %s to %s on %s", (method, template, operationId, service) => {
    const route = table.lookup(method, template);

    expect(route?.operationId).toBe(operationId);
    expect(route?.service).toBe(service);
    expect(route?.upstreams.map((url) => url.href)).toEqual([`${UPSTREAMS[service]}/`]);
  });

  it("has no route for an undeclared method or template", () => {
    expect(table.lookup("DELETE", "/users/me")).toBeUndefined();
    expect(table.lookup("GET", "/products/{id}")).toBeUndefined();
  });

  it("does not treat path-item parameters as an operation", () => {
    expect(table.operations.some((r) => r.method === "PARAMETERS")).toBe(false);
  });

  it("lists each service's upstream", () => {
    expect([...table.upstreams.keys()]).toEqual(PUBLIC_SERVICES);
  });

  it("keeps every instance of a comma-separated upstream list, in order", () => {
    const replicated = compileOperationTable(loadContract("public"), {
      ...UPSTREAMS,
      products: "http://127.0.0.1:8082, http://127.0.0.1:8182",
    });

    expect(replicated.upstreams.get("products")?.map((url) => url.host)).toEqual([
      "127.0.0.1:8082",
      "127.0.0.1:8182",
    ]);
    expect(replicated.lookup("GET", "/products")?.upstreams).toHaveLength(2);
  });

  it("throws naming the variable of a service without an upstream URL", () => {
    const { products: _omitted, ...withoutProducts } = UPSTREAMS;

    expect(() => compileOperationTable(loadContract("public"), withoutProducts)).toThrow(
      /PRODUCTS_URL must be the http\(s\) URL of service products/,
    );
  });

  it("throws for an upstream URL that is not http(s)", () => {
    expect(() =>
      compileOperationTable(loadContract("public"), { ...UPSTREAMS, users: "ftp://users" }),
    ).toThrow(/USERS_URL/);
  });

  it("throws naming the variable when one instance of a list is not http(s)", () => {
    expect(() =>
      compileOperationTable(loadContract("public"), {
        ...UPSTREAMS,
        users: "http://users-1:8081,users-2:8081",
      }),
    ).toThrow(/USERS_URL .*"users-2:8081" is not an absolute http\(s\) URL/);
  });

  it("routes a new service of the contract without code changes", () => {
    const contract = contractOf({
      "/predictions": {
        post: { operationId: "predict", "x-portico-service": "ml" },
      },
    });

    const route = compileOperationTable(contract, { ml: "http://ml:8084" }).lookup(
      "POST",
      "/predictions",
    );

    expect(route).toMatchObject({ service: "ml", operationId: "predict" });
    expect(route?.upstreams[0]?.host).toBe("ml:8084");
  });
});

describe("parseUpstreamList", () => {
  it.each([
    ["http://a:1", ["http://a:1/"]],
    [" http://a:1 ,https://b/api ", ["http://a:1/", "https://b/api"]],
    ["http://a:1,,http://b:2,", ["http://a:1/", "http://b:2/"]],
    [
      ["http://a:1", new URL("http://b:2")],
      ["http://a:1/", "http://b:2/"],
    ],
  ] as const)("parses %j", (value, expected) => {
    const parsed = parseUpstreamList(value);

    expect(Array.isArray(parsed) ? parsed.map((url) => url.href) : parsed).toEqual(expected);
  });

  it.each([
    ["", "must list at least one http(s) URL"],
    [" , ", "must list at least one http(s) URL"],
    ["http://a:1,ftp://b", '"ftp://b" is not an absolute http(s) URL'],
    ["http://a:1,http://a:1/", "lists http://a:1/ twice"],
  ])("rejects %j", (value, message) => {
    expect(parseUpstreamList(value)).toBe(message);
  });
});

describe("declared caches and feeds", () => {
  const contractWith = (
    op: Record<string, unknown>,
    method = "get",
    path = "/things/{thingId}",
  ) => ({
    paths: { [path]: { [method]: { operationId: "op", "x-portico-service": "s", ...op } } },
  });
  const compile = (contract: Record<string, unknown>) =>
    compileOperationTable(contract, { s: "http://127.0.0.1:1" });
  const cache = (extra: Record<string, unknown> = {}) => ({
    key: "thingId",
    invalidatedBy: [{ subjects: ["users.user.registered"] }],
    ...extra,
  });

  it("reads the public contract's declarations into the table", () => {
    const table = compileOperationTable(loadContract("public"), UPSTREAMS);
    expect(table.byId("getProduct")?.cache).toMatchObject({
      key: "productId",
      invalidatedBy: [{ key: ["subject"] }],
      maxBodyBytes: 256 * 1024,
    });
    expect(table.feeds).toEqual([
      {
        subject: "notifications.notification.created",
        event: "notification",
        recipient: ["data", "userId"],
        data: ["data", "notification"],
      },
    ]);
  });

  it("reads where an event carries the key, defaulting to the envelope's subject", () => {
    const table = compile(
      contractWith({
        security: [],
        "x-portico-cache": cache({
          invalidatedBy: [{ subjects: ["users.user.registered"], key: "data.userId" }],
        }),
      }),
    );
    expect(table.byId("op")?.cache?.invalidatedBy).toEqual([
      { subjects: ["users.user.registered"], key: ["data", "userId"] },
    ]);
  });

  it.each([
    ["a write", contractWith({ security: [], "x-portico-cache": cache() }, "post"), /only a GET/],
    [
      "a secured read",
      contractWith({ security: [{ bearerAuth: [] }], "x-portico-cache": cache() }),
      /only a public operation/,
    ],
    [
      "a key that is no path parameter",
      contractWith({ security: [], "x-portico-cache": cache({ key: "other" }) }),
      /key other is not a path parameter/,
    ],
    [
      "an undeclared event",
      contractWith({
        security: [],
        "x-portico-cache": cache({ invalidatedBy: [{ subjects: ["nobody.thing.happened"] }] }),
      }),
      /x-portico-cache is invalid .*not a subject of contracts\/events.yaml/,
    ],
    [
      "an unknown field",
      contractWith({ security: [], "x-portico-cache": cache({ ttl: 5 }) }),
      /x-portico-cache is invalid/,
    ],
    [
      "a feed without recipient",
      contractWith({ "x-portico-feed": [{ subject: "users.user.registered", event: "e" }] }),
      /op: x-portico-feed is invalid \(0\.recipient/,
    ],
  ])("stops the start-up for a cache or feed on %s", (_name, contract, message) => {
    expect(() => compile(contract)).toThrow(message);
  });
});
