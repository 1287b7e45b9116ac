/**
 * The public API's own description: the bundled contract at `GET /openapi.json` (its `servers`
 * pointing at this gateway) and an interactive reference at `GET /docs` (Scalar).
 */

import { EXACT_ROUTER_OPTIONS } from "@portico/kit/core";
import { apiReference } from "@scalar/express-api-reference";
import express from "express";
import { withoutPorticoExtensions } from "../operations/extensions.js";

/**
 * The public document as this gateway serves it: a copy whose only server is `publicUrl`,
 * without the platform's `x-portico-*` extensions (owners, timeouts, caches, feeds).
 */
export function publicDocument(
  contract: Record<string, unknown>,
  publicUrl: string,
): Record<string, unknown> {
  return {
    ...withoutPorticoExtensions(contract),
    servers: [{ url: publicUrl, description: "This gateway" }],
  };
}

/** Router with `GET /openapi.json` and `GET /docs`. */
export function referenceRoutes(contract: Record<string, unknown>, publicUrl: string) {
  const document = JSON.stringify(publicDocument(contract, publicUrl));
  const router = express.Router(EXACT_ROUTER_OPTIONS);
  router.get("/openapi.json", (_req, res) => {
    res.type("application/json").send(document);
  });
  router.get("/docs", apiReference({ url: "/openapi.json" }));
  return router;
}
