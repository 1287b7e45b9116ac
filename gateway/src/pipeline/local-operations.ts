/**
 * The operations the gateway serves itself (`x-portico-service: gateway`, contracts/gateway.yaml):
 * dispatched by operationId to local handlers after the contract validator (so they get the
 * same authentication and request validation as proxied operations), never proxied.
 */
import type { Request, RequestHandler } from "express";
import { LOCAL_SERVICE, type OperationTable } from "../operations/table.js";

/**
 * Middleware dispatching the local operations of `routes` to `handlers`; other requests pass on.
 * @param handlers one handler per local operationId.
 * @throws Error at start-up naming each local operation without a handler and each handler
 *   without a local operation (as a service's handler map must match its contract).
 */
export function localOperations(
  routes: OperationTable,
  handlers: Readonly<Record<string, RequestHandler>>,
): RequestHandler {
  const local = routes.operations.filter((route) => route.service === LOCAL_SERVICE);
  const declared = new Set(local.map((route) => route.operationId));
  const missing = [...declared].filter((id) => !handlers[id]);
  const unknown = Object.keys(handlers).filter((id) => !declared.has(id));
  if (missing.length > 0 || unknown.length > 0) {
    throw new Error(
      [
        missing.length ? `no gateway handler for operationId ${missing.join(", ")}` : "",
        unknown.length ? `gateway handler for unknown operationId ${unknown.join(", ")}` : "",
      ]
        .filter(Boolean)
        .join("; "),
    );
  }
  return (req, res, next) => {
    const template = (req as Request & { openapi?: { openApiRoute?: string } }).openapi
      ?.openApiRoute;
    const route = template ? routes.lookup(req.method, template) : undefined;
    const handler = route?.service === LOCAL_SERVICE ? handlers[route.operationId] : undefined;
    if (!handler) {
      next();
      return;
    }
    return handler(req, res, next);
  };
}
