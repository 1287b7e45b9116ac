import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import express from "express";
import * as OpenApiValidator from "express-openapi-validator";
import {
  compiledValidatorRoutes,
  compileValidatorRoutesOnce,
} from "../../src/pipeline/validator-route-cache.js";

/** path-to-regexp as express-openapi-validator resolves it. */
const require = createRequire(import.meta.url);
const pathToRegexpModule = createRequire(require.resolve("express-openapi-validator"))(
  "path-to-regexp",
) as {
  pathToRegexp: (
    path: string,
    options?: Record<string, unknown>,
  ) => { regexp: RegExp; keys: { name: string }[] };
};

const contract = {
  openapi: "3.1.0",
  info: { title: "Route cache test", version: "1.0.0" },
  paths: Object.fromEntries(
    ["widgets", "gadgets", "gizmos"].map((name) => [
      `/${name}/{id}`,
      {
        get: {
          operationId: `get_${name}`,
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
          responses: { "200": { description: "OK" } },
        },
      },
    ]),
  ),
};

let server: ReturnType<express.Express["listen"]>;
let baseUrl: string;

beforeAll(async () => {
  compileValidatorRoutesOnce();
  const app = express();
  app.use(OpenApiValidator.middleware({ apiSpec: contract as never, validateRequests: true }));
  app.use((req, res) => {
    const { openapi } = req as typeof req & {
      openapi?: { openApiRoute?: string; pathParams?: Record<string, string> };
    };
    res.json({ route: openapi?.openApiRoute, params: openapi?.pathParams });
  });
  server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe("compileValidatorRoutesOnce", () => {
  it("compiles each route template once, not once per request", async () => {
    const paths = ["/widgets/b2", "/gadgets/c3", "/gizmos/d4"];
    const call = async (path: string) => {
      const response = await fetch(`${baseUrl}${path}`);
      expect(response.status).toBe(200);
      return response.json();
    };
    expect(await call("/gizmos/a1")).toEqual({ route: "/gizmos/{id}", params: { id: "a1" } });
    for (const path of paths) await call(path);
    const compiled = compiledValidatorRoutes();
    expect(compiled).toBeGreaterThanOrEqual(1);
    for (let round = 0; round < 3; round += 1) {
      for (const path of paths) {
        expect((await call(path)).params).toEqual({ id: path.split("/")[2] });
      }
    }
    expect(compiledValidatorRoutes()).toBe(compiled);
  });

  it("still answers 404 for a path no route matches", async () => {
    const response = await fetch(`${baseUrl}/nothing/here`);
    expect(response.status).toBe(404);
  });

  it("hands out the same compiled route per template and options, distinct across options", () => {
    const { pathToRegexp } = pathToRegexpModule;
    const loose = pathToRegexp("/cache-test/:id", { sensitive: false, strict: false });
    expect(pathToRegexp("/cache-test/:id", { sensitive: false, strict: false })).toBe(loose);
    const sensitive = pathToRegexp("/cache-test/:id", { sensitive: true, strict: false });
    expect(sensitive).not.toBe(loose);
    expect(loose.regexp.test("/CACHE-TEST/1")).toBe(true);
    expect(sensitive.regexp.test("/CACHE-TEST/1")).toBe(false);
    expect(loose.keys.map((key) => key.name)).toEqual(["id"]);
  });

  it("is idempotent and leaves calls it cannot key (a decode function) uncached", () => {
    compileValidatorRoutesOnce();
    const { pathToRegexp } = pathToRegexpModule;
    const before = compiledValidatorRoutes();
    const decode = (value: string) => value;
    const a = pathToRegexp("/uncached/:id", { decode });
    const b = pathToRegexp("/uncached/:id", { decode });
    expect(a).not.toBe(b);
    expect(a.regexp.source).toBe(b.regexp.source);
    expect(compiledValidatorRoutes()).toBe(before);
  });
});
