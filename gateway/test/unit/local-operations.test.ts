import { describe, expect, it } from "@jest/globals";
import express from "express";
import {
  compileOperationTable,
  contractServices,
  LOCAL_SERVICE,
} from "../../src/operations/table.js";
import { localOperations } from "../../src/pipeline/local-operations.js";
import { queryTokenFor } from "../../src/pipeline/query-token.js";

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

describe("queryTokenFor", () => {
  /** What the next middleware sees after queryTokenFor("/events"). */
  async function seen(url: string, headers: Record<string, string> = {}) {
    const app = express();
    app.use(queryTokenFor("/events"));
    app.use((req, res) => {
      res.json({
        url: req.url,
        originalUrl: req.originalUrl,
        authorization: req.headers.authorization ?? null,
      });
    });
    const server = app.listen(0);
    await new Promise((resolve) => server.once("listening", resolve));
    const { port } = server.address() as { port: number };
    try {
      const response = await fetch(`http://127.0.0.1:${port}${url}`, { headers });
      return (await response.json()) as {
        url: string;
        originalUrl: string;
        authorization: string | null;
      };
    } finally {
      server.close();
    }
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
});
