import { describe, expect, it } from "@jest/globals";
import express from "express";
import {
  compileOperationTable,
  contractServices,
  LOCAL_SERVICE,
} from "../../src/operations/table.js";
import { localOperations } from "../../src/pipeline/local-operations.js";
import {
  type QueryToken,
  queryTokenFor,
  queryTokenForOperation,
} from "../../src/pipeline/query-token.js";

const contract = {
  paths: {
    "/events": { get: { operationId: "streamEvents", "x-portico-service": LOCAL_SERVICE } },
    "/products": { get: { operationId: "listProducts", "x-portico-service": "products" } },
  },
};

describe("the gateway's own operations", () => {
  it("need no upstream URL and are routed locally", () => {
    expect(contractServices(contract)).toEqual(["products"]);
    const routes = compileOperationTable(contract, { products: "http://127.0.0.1:8082" });
    expect(routes.lookup("GET", "/events")).toMatchObject({
      service: LOCAL_SERVICE,
      upstreams: [],
    });
  });

  it("must each have a handler, and every handler an operation (checked at start)", () => {
    const routes = compileOperationTable(contract, { products: "http://127.0.0.1:8082" });
    const handler: express.RequestHandler = (_req, res) => {
      res.end();
    };
    expect(() => localOperations(routes, {})).toThrow(
      /no gateway handler for operationId streamEvents/,
    );
    expect(() => localOperations(routes, { streamEvents: handler, other: handler })).toThrow(
      /gateway handler for unknown operationId other/,
    );
    expect(() => localOperations(routes, { streamEvents: handler })).not.toThrow();
  });
});

/** The answer to `url` of an app running `steps`, then echoing what the next middleware sees. */
async function through(steps: QueryToken, url: string, headers: Record<string, string> = {}) {
  const app = express();
  app.use(steps.take, steps.refuse);
  app.use((req, res) => {
    res.json({
      url: req.url,
      originalUrl: req.originalUrl,
      authorization: req.headers.authorization ?? null,
    });
  });
  app.use(((err, _req, res, _next) => {
    res.status(err.status).json({ errors: err.errors });
  }) as express.ErrorRequestHandler);
  const server = app.listen(0);
  await new Promise((resolve) => server.once("listening", resolve));
  const { port } = server.address() as { port: number };
  try {
    const response = await fetch(`http://127.0.0.1:${port}${url}`, { headers });
    return { status: response.status, body: await response.json() };
  } finally {
    server.close();
  }
}

describe("queryTokenFor", () => {
  /** A stand-in schema check: at most 8 characters, at least 1. */
  const check = (value: string) =>
    value.length === 0 ? ["too short"] : value.length > 8 ? ["too long"] : [];

  /** What the next middleware sees after queryTokenFor("/events")'s steps (or the error). */
  async function seen(url: string, headers: Record<string, string> = {}) {
    return (await through(queryTokenFor("/events", check), url, headers)).body;
  }

  it("moves access_token into Authorization and out of the URL, on the event stream only", async () => {
    expect(await seen("/events?access_token=abc.def")).toEqual({
      url: "/events",
      originalUrl: "/events",
      authorization: "Bearer abc.def",
    });
    expect(await seen("/products?access_token=abc")).toEqual({
      url: "/products?access_token=abc",
      originalUrl: "/products?access_token=abc",
      authorization: null,
    });
  });

  it("keeps an Authorization header that is present, but still strips the parameter", async () => {
    expect(await seen("/events?access_token=abc", { Authorization: "Bearer header" })).toEqual({
      url: "/events",
      originalUrl: "/events",
      authorization: "Bearer header",
    });
  });

  it("refuses a value that breaks the schema, header or not, naming query.access_token", async () => {
    for (const value of ["", "a".repeat(9)]) {
      const answer = (await seen(`/events?access_token=${value}`, {
        Authorization: "Bearer header",
      })) as unknown as { errors: { path: string; message: string }[] };
      expect(answer.errors).toEqual([
        { path: "/query/access_token", message: value === "" ? "too short" : "too long" },
      ]);
    }
  });
});

describe("queryTokenForOperation", () => {
  const declared = {
    paths: {
      "/events": {
        get: {
          operationId: "streamEvents",
          "x-portico-service": LOCAL_SERVICE,
          parameters: [
            {
              name: "access_token",
              in: "query",
              schema: { type: "string", minLength: 1, maxLength: 4096 },
            },
          ],
        },
      },
    },
  };

  it("checks access_token against the operation's own parameter schema", async () => {
    const table = compileOperationTable(declared, {});
    const steps = queryTokenForOperation(table, declared, "streamEvents");
    const get = (value: string) => through(steps, `/events?access_token=${value}`);
    expect(await get("a".repeat(4096))).toEqual({
      status: 200,
      body: { url: "/events", originalUrl: "/events", authorization: `Bearer ${"a".repeat(4096)}` },
    });
    expect(await get("a".repeat(4097))).toEqual({
      status: 400,
      body: {
        errors: [
          { path: "/query/access_token", message: "must NOT have more than 4096 characters" },
        ],
      },
    });
    expect((await get("")).body.errors[0].message).toBe("must NOT have fewer than 1 characters");
  });
});
