/**
 * The public API's own description: the bundled contract at `GET /openapi.json` (its `servers`
 * pointing at this gateway, without the platform's `x-portico-*` extensions) and an interactive
 * reference at `GET /docs`, rendered by the standalone browser bundle of `@scalar/api-reference`
 * (pinned in package.json) that this gateway serves itself (`/docs/scalar.js`, with its start-up
 * script `/docs/start.js`): the page works offline, in air-gapped networks and under a
 * Content-Security-Policy that allows this origin only (edge/security-headers.ts), and no
 * third-party script runs in the API's origin.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { withoutPlatformKeys } from "@portico/contracts";
import { EXACT_ROUTER_OPTIONS } from "@portico/kit/core";
import express from "express";

/** Where the reference page and its assets are served. */
export const DOCS_PATHS = {
  page: "/docs",
  script: "/docs/scalar.js",
  start: "/docs/start.js",
} as const;

/** The standalone bundle of `@scalar/api-reference` in node_modules. */
function scalarBundlePath(): string {
  const require = createRequire(import.meta.url);
  return join(
    dirname(require.resolve("@scalar/api-reference/style.css")),
    "browser",
    "standalone.js",
  );
}

/** The page: no inline script or style of its own (the CSP allows none). */
const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>API reference</title>
  </head>
  <body>
    <div id="api-reference"></div>
    <script src="${DOCS_PATHS.script}"></script>
    <script src="${DOCS_PATHS.start}"></script>
  </body>
</html>
`;

/** Mounts the reference on the page's element: this origin's document, no external fonts or
 * services (telemetry off, Scalar's request proxy unused: "try it" calls this origin). */
const START = `Scalar.createApiReference("#api-reference", ${JSON.stringify({
  sources: [{ url: "/openapi.json", title: "API", slug: "api" }],
  withDefaultFonts: false,
  telemetry: false,
  defaultOpenAllTags: true,
  showDeveloperTools: "never",
})});
`;

/**
 * The public document as this gateway serves it: a copy whose only server is `publicUrl`,
 * without the platform's keys: its `x-portico-*` extensions (owners, timeouts, caches, feeds)
 * and the generator's `x-generated` note (`withoutPlatformKeys` of `@portico/contracts`).
 */
export function publicDocument(
  contract: Record<string, unknown>,
  publicUrl: string,
): Record<string, unknown> {
  return {
    ...withoutPlatformKeys(contract),
    servers: [{ url: publicUrl, description: "This gateway" }],
  };
}

/** Router with `GET /openapi.json`, `GET /docs` and the reference's two scripts. */
export function referenceRoutes(contract: Record<string, unknown>, publicUrl: string) {
  const document = JSON.stringify(publicDocument(contract, publicUrl));
  const bundle = scalarBundlePath();
  const router = express.Router(EXACT_ROUTER_OPTIONS);
  router.get("/openapi.json", (_req, res) => {
    res.type("application/json").send(document);
  });
  router.get(DOCS_PATHS.page, (_req, res) => {
    res.type("text/html; charset=utf-8").send(PAGE);
  });
  router.get(DOCS_PATHS.start, (_req, res) => {
    res.type("text/javascript; charset=utf-8").send(START);
  });
  router.get(DOCS_PATHS.script, (_req, res, next) => {
    res.type("text/javascript; charset=utf-8");
    // The bundle changes only with the pinned version: cached for a day, revalidated by ETag.
    res.sendFile(bundle, { maxAge: "1d", etag: true, lastModified: false }, (err) => {
      if (err) next(err);
    });
  });
  return router;
}
