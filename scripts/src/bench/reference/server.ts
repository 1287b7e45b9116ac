/**
 * The reference service of the benchmark (issue 14): what a contract-first Node.js service
 * costs when written the usual Fastify way, to hold the kit's CPU per request against. Fastify 5
 * with fastify-openapi-glue routes and validates from the same contracts (read from
 * `@portico/contracts`, never copied), pg queries the products and users services' own
 * databases, @fastify/etag hashes the bodies. It implements `getProduct`, `createProduct`
 * (products.ts) and `getCurrentUser` (users.ts); Fastify's own pino logger at the level the
 * benchmark gives the services. Not a service of the system: the benchmark starts it beside one.
 *
 * Environment: `PORT` (required), `HOST` (default 127.0.0.1), `PRODUCTS_DATABASE_URL`,
 * `USERS_DATABASE_URL`, `JWKS_URL` (the users service's JWK Set), `JWT_ISSUER`, `JWT_AUDIENCE`,
 * `LOG_LEVEL` (default warn). `GET /healthz` answers 200 once it listens.
 */
import { randomUUID } from "node:crypto";
import etag from "@fastify/etag";
import { loadContract } from "@portico/contracts";
import Fastify from "fastify";
import openapiGlue from "fastify-openapi-glue";
import pg from "pg";
import { securityHandlers } from "./auth.js";
import { productHandlers } from "./products.js";
import { userHandlers } from "./users.js";

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    process.stderr.write(`${name} is required\n`);
    process.exit(1);
  }
  return value;
}

/** A pool as the kit opens one (10 connections). */
function openPool(url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 5_000 });
  pool.on("error", () => undefined);
  return pool;
}

const products = openPool(required("PRODUCTS_DATABASE_URL"));
const users = openPool(required("USERS_DATABASE_URL"));
const security = securityHandlers({
  jwksUrl: required("JWKS_URL"),
  issuer: process.env.JWT_ISSUER ?? "portico",
  audience: process.env.JWT_AUDIENCE ?? "portico-api",
});

const app = Fastify({
  logger: { level: process.env.LOG_LEVEL ?? "warn" },
  requestIdHeader: "x-request-id",
  genReqId: () => randomUUID(),
});
app.addHook("onRequest", async (request, reply) => {
  reply.header("x-request-id", request.id);
});
app.get("/healthz", async () => ({ status: "ok" }));
await app.register(async (scope) => {
  await scope.register(etag, { algorithm: "sha256" });
  await scope.register(openapiGlue, {
    specification: loadContract("products"),
    serviceHandlers: productHandlers(products),
    securityHandlers: security,
  });
  await scope.register(openapiGlue, {
    specification: loadContract("users"),
    serviceHandlers: userHandlers(users),
    securityHandlers: security,
  });
});

await app.listen({ port: Number(required("PORT")), host: process.env.HOST ?? "127.0.0.1" });
process.on("SIGTERM", () => {
  void app
    .close()
    .then(() => Promise.all([products.end(), users.end()]))
    .then(() => process.exit(0));
});
