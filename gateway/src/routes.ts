/**
 * The gateway's route table, derived from the public contract and never written by hand: every
 * operation of the bundled document carries `x-portico-service: <service>`, and each service's
 * upstream instances (one base URL, or a comma-separated list of them) come from the environment
 * variable `<SERVICE>_URL`.
 */

/** HTTP methods an OpenAPI 3.1 path item can declare operations for (section 4.8.9). */
const OPERATION_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/** The extension naming the service that owns an operation. */
export const SERVICE_EXTENSION = "x-portico-service";

/**
 * The owner of the operations the gateway serves itself (`contracts/gateway.yaml`, e.g.
 * `GET /events`): they are routed to local handlers, never proxied, and need no `<SERVICE>_URL`.
 */
export const LOCAL_SERVICE = "gateway";

/** One operation of the public API and the upstream that serves it. */
export interface Route {
  /** Upper-case HTTP method, e.g. `POST`. */
  method: string;
  /** OpenAPI path template, e.g. `/products/{productId}`. */
  template: string;
  operationId: string;
  /** Owning service, from `x-portico-service` ({@link LOCAL_SERVICE}: served by the gateway). */
  service: string;
  /**
   * Base URL of each instance of the owning service (the request path is appended to it); empty
   * for a local operation.
   */
  upstreams: readonly URL[];
}

/** The compiled route table: immutable, built once at start-up. */
export interface RouteTable {
  /** Every operation, in document order. */
  readonly routes: readonly Route[];
  /** Each owning service and the base URLs of its instances (at least one, no duplicates). */
  readonly upstreams: ReadonlyMap<string, readonly URL[]>;
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
 * The distinct upstream services that own operations of `contract`, in document order (the
 * gateway's own operations, {@link LOCAL_SERVICE}, are not proxied and so not listed).
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
  const services = operations.map((op) => op.service as string);
  return [...new Set(services.filter((service) => service !== LOCAL_SERVICE))];
}

/** Upstream instances of one service as given: a URL, a comma-separated list, or an array. */
export type UpstreamList = string | URL | readonly (string | URL)[];

/**
 * Parses a service's upstream instances: absolute `http:`/`https:` base URLs, given as a
 * comma-separated string (as `<SERVICE>_URL` holds them) or an array.
 * @returns the URLs in the given order, or a message saying why the list is unusable (empty, not
 *   http(s), or the same instance twice, which would skew the balancing).
 */
export function parseUpstreamList(value: UpstreamList | undefined): URL[] | string {
  const items =
    typeof value === "string"
      ? value.split(",").map((item) => item.trim())
      : value instanceof URL
        ? [value]
        : [...(value ?? [])];
  const present = items.filter((item) => String(item) !== "");
  if (present.length === 0) return "must list at least one http(s) URL";
  const urls: URL[] = [];
  for (const item of present) {
    const url = parseUpstream(item);
    if (!url) return `${JSON.stringify(String(item))} is not an absolute http(s) URL`;
    if (urls.some((seen) => seen.href === url.href)) return `lists ${url.href} twice`;
    urls.push(url);
  }
  return urls;
}

/**
 * Compiles the route table of `contract` (a bundled OpenAPI 3.1 document).
 * @param upstreams the instances of each service, keyed by service name (see
 *   {@link parseUpstreamList}).
 * @throws Error when an operation has no `x-portico-service`, or a service of the contract has no
 *   (valid) upstream list — naming the environment variable to set.
 */
export function compileRouteTable(
  contract: Record<string, unknown>,
  upstreams: Readonly<Record<string, UpstreamList | undefined>>,
): RouteTable {
  const services = contractServices(contract);
  const urls = new Map<string, readonly URL[]>();
  const problems: string[] = [];
  for (const service of services) {
    const parsed = parseUpstreamList(upstreams[service]);
    if (typeof parsed === "string") {
      problems.push(
        `${upstreamEnvVar(service)} must be the http(s) URL of service ${service}, or a comma-separated list of them (${parsed})`,
      );
    } else urls.set(service, parsed);
  }
  if (problems.length > 0) throw new Error(`Invalid upstreams: ${problems.join("; ")}`);

  const routes: Route[] = operationsOf(contract).map((op) => ({
    method: op.method,
    template: op.template,
    operationId: op.operationId,
    service: op.service as string,
    upstreams: urls.get(op.service as string) ?? [],
  }));
  // By method, then template: a lookup builds no string (it runs for every request's metrics).
  const byMethod = new Map<string, Map<string, Route>>();
  for (const route of routes) {
    const templates = byMethod.get(route.method) ?? new Map<string, Route>();
    templates.set(route.template, route);
    byMethod.set(route.method, templates);
  }
  return {
    routes,
    upstreams: urls,
    lookup: (method, template) =>
      (byMethod.get(method) ?? byMethod.get(method.toUpperCase()))?.get(template),
  };
}

function parseUpstream(value: string | URL): URL | undefined {
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" ? url : undefined;
  } catch {
    return undefined;
  }
}
