/**
 * The operation table: the public contract read once into one record per operationId — how a
 * request is matched to it, who owns it (an upstream service, or the gateway itself), its
 * security requirements, its compiled request checks (for the fast lane), its upstream timeout,
 * its declared cache and the event feeds it declares. Both ways through the gateway (the
 * Express + express-openapi-validator reference pipeline and the compiled fast lane) read it;
 * nothing else walks the contract. Built once at start-up; immutable.
 *
 * Each operation's `x-portico-service` names its owner (extensions.ts); each service's upstream
 * instances (one base URL, or a comma-separated list) come from `<SERVICE>_URL`
 * (upstream-list.ts).
 */
import { documentOperations } from "@portico/contracts/operations";
import {
  compileOperationMatcher,
  compileRequestChecks,
  type OperationChecks,
  type OperationMatcher,
  type SecurityRequirement,
} from "@portico/kit/core";
import {
  type CachePolicy,
  type FeedPolicy,
  OWNER_EXTENSION,
  operationExtensions,
  ownerOf,
} from "./extensions.js";
import { parseUpstreamList, type UpstreamList, upstreamEnvVar } from "./upstream-list.js";

/**
 * The owner of the operations the gateway serves itself (`contracts/gateway.yaml`, e.g.
 * `GET /events`): they are routed to local handlers, never proxied, and need no `<SERVICE>_URL`.
 */
export const LOCAL_SERVICE = "gateway";

/** One operation of the public API, with everything the gateway does for it. */
export interface Operation {
  /** Upper-case HTTP method, e.g. `POST`. */
  method: string;
  /** OpenAPI path template, e.g. `/products/{productId}`. */
  template: string;
  operationId: string;
  /** Owning service, from `x-portico-service` ({@link LOCAL_SERVICE}: served by the gateway). */
  service: string;
  /** Base URL of each instance of the owner (the request path is appended); empty when local. */
  upstreams: readonly URL[];
  /** Security requirements (alternatives, OpenAPI 3.1 section 4.8.30); empty: public. */
  security: SecurityRequirement[];
  /** Its own upstream timeout in ms (`x-portico-timeout-ms`), if declared. */
  timeoutMs: number | undefined;
  /** Its event-invalidated cache (`x-portico-cache`), if declared. */
  cache: CachePolicy | undefined;
  /**
   * The fast lane's compiled checks; undefined when the fast lane cannot vouch for its requests
   * (a local operation, a parameter style or scheme the checks were not built for).
   */
  checks: OperationChecks | undefined;
}

/** The compiled operation table. */
export interface OperationTable {
  /** Every operation, in document order. */
  readonly operations: readonly Operation[];
  /** Each owning service and the base URLs of its instances (at least one, no duplicates). */
  readonly upstreams: ReadonlyMap<string, readonly URL[]>;
  /** Every event feed the operations declare (`x-portico-feed`), in document order. */
  readonly feeds: readonly FeedPolicy[];
  /** The operation of a method (any case) and OpenAPI path template, if declared. */
  lookup(method: string, template: string): Operation | undefined;
  /** The operation of an operationId, if declared. */
  byId(operationId: string): Operation | undefined;
  /** The operation of a request's method (upper case) and path (no query), with its parameters. */
  match: OperationMatcher<Operation>;
}

interface Declared {
  method: string;
  template: string;
  operationId: string;
  op: Record<string, unknown>;
}

/** Each operation of an OpenAPI document, in document order; unnamed ones by method and path. */
function declaredOperations(contract: Record<string, unknown>): Declared[] {
  return documentOperations(contract).map(({ method, template, operation }) => ({
    method: method.toUpperCase(),
    template,
    operationId: String(operation.operationId ?? `${method.toUpperCase()} ${template}`),
    op: operation,
  }));
}

/**
 * The distinct upstream services that own operations of `contract`, in document order (the
 * gateway's own operations, {@link LOCAL_SERVICE}, are not proxied and so not listed).
 * @throws Error naming every operation without `x-portico-service`.
 */
export function contractServices(contract: Record<string, unknown>): string[] {
  const owners = declaredOperations(contract).map(({ operationId, op }) => ({
    operationId,
    owner: ownerOf(op),
  }));
  const orphans = owners.filter((entry) => entry.owner === undefined);
  if (orphans.length > 0) {
    throw new Error(
      `Operations without ${OWNER_EXTENSION}: ${orphans.map((op) => op.operationId).join(", ")}`,
    );
  }
  const services = owners.map((entry) => entry.owner as string);
  return [...new Set(services.filter((service) => service !== LOCAL_SERVICE))];
}

/**
 * Compiles the operation table of `contract` (a bundled OpenAPI 3.1 document).
 * @param upstreams the instances of each service, keyed by service name (see
 *   {@link parseUpstreamList}).
 * @throws Error when an operation has no `x-portico-service` or a malformed `x-portico-*`
 *   extension, a cache is declared on an operation that is not a public GET or on a key that
 *   is not one of its path parameters, or a service has no (valid) upstream list — naming the
 *   environment variable to set.
 */
export function compileOperationTable(
  contract: Record<string, unknown>,
  upstreams: Readonly<Record<string, UpstreamList | undefined>>,
): OperationTable {
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

  const declared = declaredOperations(contract);
  const feeds: FeedPolicy[] = [];
  const partial = declared.map(({ method, template, operationId, op }) => {
    const extensions = operationExtensions(operationId, op);
    feeds.push(...extensions.feeds);
    const service = extensions.owner as string;
    const security = (op.security ?? contract.security ?? []) as SecurityRequirement[];
    if (extensions.cache)
      assertCacheable(operationId, method, template, security, extensions.cache);
    return {
      method,
      template,
      operationId,
      service,
      upstreams: urls.get(service) ?? [],
      security,
      timeoutMs: extensions.timeoutMs,
      cache: extensions.cache,
    };
  });
  const checks = compileRequestChecks(
    contract,
    partial.filter((operation) => operation.service !== LOCAL_SERVICE),
  );
  const operations: Operation[] = partial.map((operation) => ({
    ...operation,
    checks: checks.get(operation.operationId),
  }));

  // By method, then template: a lookup builds no string (it runs for every request's metrics).
  const byMethod = new Map<string, Map<string, Operation>>();
  const byId = new Map<string, Operation>();
  for (const operation of operations) {
    const templates = byMethod.get(operation.method) ?? new Map<string, Operation>();
    templates.set(operation.template, operation);
    byMethod.set(operation.method, templates);
    byId.set(operation.operationId, operation);
  }
  return {
    operations,
    upstreams: urls,
    feeds,
    lookup: (method, template) =>
      (byMethod.get(method) ?? byMethod.get(method.toUpperCase()))?.get(template),
    byId: (operationId) => byId.get(operationId),
    match: compileOperationMatcher(operations),
  };
}

/**
 * A declared cache serves one caller's answer to every caller: only a public read, keyed by one
 * of its own path parameters, qualifies.
 */
function assertCacheable(
  operationId: string,
  method: string,
  template: string,
  security: readonly SecurityRequirement[],
  cache: CachePolicy,
): void {
  const why =
    method !== "GET"
      ? "only a GET operation can be cached"
      : security.length > 0
        ? "only a public operation (security: []) can be cached: entries are served to every caller"
        : !template.includes(`{${cache.key}}`)
          ? `key ${cache.key} is not a path parameter of ${template}`
          : undefined;
  if (why) throw new Error(`${operationId}: x-portico-cache: ${why}`);
}
