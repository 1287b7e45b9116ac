/**
 * The gateway's route table, derived from the public contract and never written by hand: every
 * operation of the bundled document carries `x-portico-service: <service>`, and each service's
 * upstream base URL comes from the environment variable `<SERVICE>_URL`.
 */

/** HTTP methods an OpenAPI 3.1 path item can declare operations for (section 4.8.9). */
const OPERATION_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/** The extension naming the service that owns an operation. */
export const SERVICE_EXTENSION = "x-portico-service";

/** One operation of the public API and the upstream that serves it. */
export interface Route {
  /** Upper-case HTTP method, e.g. `POST`. */
  method: string;
  /** OpenAPI path template, e.g. `/products/{productId}`. */
  template: string;
  operationId: string;
  /** Owning service, from `x-portico-service`. */
  service: string;
  /** Base URL of the owning service (the request path is appended to it). */
  upstream: URL;
}

/** The compiled route table: immutable, built once at start-up. */
export interface RouteTable {
  /** Every operation, in document order. */
  readonly routes: readonly Route[];
  /** Each owning service and its upstream base URL. */
  readonly upstreams: ReadonlyMap<string, URL>;
  /** The route of an operation by method (any case) and OpenAPI path template, if declared. */
  lookup(method: string, template: string): Route | undefined;
}

interface OperationEntry {
  method: string;
  template: string;
  operationId: string;
  service: string | undefined;
}

/** The environment variable holding a service's upstream URL: `products` → `PRODUCTS_URL`. */
export function upstreamEnvVar(service: string): string {
  return `${service.toUpperCase().replace(/[^A-Z0-9]+/g, "_")}_URL`;
}

/** Each operation of an OpenAPI document with its `x-portico-service`, in document order. */
function operationsOf(contract: Record<string, unknown>): OperationEntry[] {
  const paths = (contract.paths ?? {}) as Record<string, Record<string, unknown>>;
  return Object.entries(paths).flatMap(([template, item]) =>
    OPERATION_METHODS.flatMap((method) => {
      const op = item?.[method] as Record<string, unknown> | undefined;
      if (!op) return [];
      const service = op[SERVICE_EXTENSION];
      return [
        {
          method: method.toUpperCase(),
          template,
          operationId: String(op.operationId ?? `${method.toUpperCase()} ${template}`),
          service: typeof service === "string" && service !== "" ? service : undefined,
        },
      ];
    }),
  );
}

/**
 * The distinct services that own operations of `contract`, in document order.
 * @throws Error naming every operation without `x-portico-service`.
 */
export function contractServices(contract: Record<string, unknown>): string[] {
  const operations = operationsOf(contract);
  const orphans = operations.filter((op) => op.service === undefined);
  if (orphans.length > 0) {
    throw new Error(
      `Operations without ${SERVICE_EXTENSION}: ${orphans.map((op) => op.operationId).join(", ")}`,
    );
  }
  return [...new Set(operations.map((op) => op.service as string))];
}

/**
 * Compiles the route table of `contract` (a bundled OpenAPI 3.1 document).
 * @param upstreams base URL (absolute `http:`/`https:`) of each service, keyed by service name.
 * @throws Error when an operation has no `x-portico-service`, or a service of the contract has no
 *   (valid) upstream URL — naming the environment variable to set.
 */
export function compileRouteTable(
  contract: Record<string, unknown>,
  upstreams: Readonly<Record<string, string | URL | undefined>>,
): RouteTable {
  const services = contractServices(contract);
  const urls = new Map<string, URL>();
  const problems: string[] = [];
  for (const service of services) {
    const url = parseUpstream(upstreams[service]);
    if (url) urls.set(service, url);
    else
      problems.push(
        `${upstreamEnvVar(service)} must be the http(s) URL of service ${service} (got ${JSON.stringify(String(upstreams[service] ?? ""))})`,
      );
  }
  if (problems.length > 0) throw new Error(`Invalid upstreams: ${problems.join("; ")}`);

  const routes: Route[] = operationsOf(contract).map((op) => ({
    method: op.method,
    template: op.template,
    operationId: op.operationId,
    service: op.service as string,
    upstream: urls.get(op.service as string) as URL,
  }));
  const byKey = new Map(routes.map((route) => [`${route.method} ${route.template}`, route]));
  return {
    routes,
    upstreams: urls,
    lookup: (method, template) => byKey.get(`${method.toUpperCase()} ${template}`),
  };
}

function parseUpstream(value: string | URL | undefined): URL | undefined {
  if (value === undefined || value === "") return undefined;
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" ? url : undefined;
  } catch {
    return undefined;
  }
}
