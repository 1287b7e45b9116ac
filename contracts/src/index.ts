/**
 * @portico/contracts — the single source of truth, as code: the bundled OpenAPI documents,
 * the TypeScript types generated from them, and the NATS event and query declarations.
 */
import { readFileSync } from "node:fs";

export type * as GatewayApi from "../generated/gateway.js";
export type * as NotificationsApi from "../generated/notifications.js";
export type * as ProductsApi from "../generated/products.js";
export type * as PublicApi from "../generated/public.js";
export type * as UsersApi from "../generated/users.js";
export * from "./events.js";
export * from "./operations.js";
export * from "./public-document.js";
export * from "./queries.js";

import { SERVICE_NAMES } from "../generated/service-names.js";

export { SERVICE_NAMES };
/** A service that owns an HTTP contract. */
export type ServiceName = (typeof SERVICE_NAMES)[number];
/**
 * A bundled document: a service's contract, the gateway's own operations (`contracts/gateway.yaml`),
 * or the public API (all of them, via the gateway).
 */
export type ContractName = ServiceName | "gateway" | "public";

const cache = new Map<ContractName, Record<string, unknown>>();

/**
 * The bundled OpenAPI 3.1 document for a contract, as parsed JSON (self-contained: no external
 * `$ref`s). Read once from `contracts/generated/<name>.openapi.json` and cached; callers that
 * mutate it must clone it first (express-openapi-validator does).
 * @throws Error when the generated file is missing (run `npm run generate`).
 */
export function loadContract(name: ContractName): Record<string, unknown> {
  let doc = cache.get(name);
  if (!doc) {
    const url = new URL(`../generated/${name}.openapi.json`, import.meta.url);
    doc = JSON.parse(readFileSync(url, "utf8")) as Record<string, unknown>;
    cache.set(name, doc);
  }
  return doc;
}
