/**
 * The gateway's upstream variables for a public contract: one `<SERVICE>_URL` per service that owns
 * an operation (`x-portico-service`), the same derivation the gateway's configuration makes, so a
 * service added to the contracts (e.g. `ml`) is pointed at the stub without a change here.
 */
import { loadContract } from "@portico/contracts";

/** `products` → `PRODUCTS_URL` (as gateway/src/routes.ts names them). */
export function upstreamVariable(service: string): string {
  return `${service.toUpperCase().replace(/[^A-Z0-9]+/g, "_")}_URL`;
}

/** Every service owning an operation of `contract` (default: the public bundle), sorted. */
export function contractServices(
  contract: Record<string, unknown> = loadContract("public"),
): string[] {
  const services = new Set<string>();
  for (const item of Object.values((contract.paths ?? {}) as Record<string, object>)) {
    for (const op of Object.values(item) as { "x-portico-service"?: unknown }[]) {
      const service = op?.["x-portico-service"];
      if (typeof service === "string") services.add(service);
    }
  }
  return [...services].sort();
}

/** `<SERVICE>_URL` = `url` for every service of the public contract. */
export function allUpstreamsAt(url: string): Record<string, string> {
  return Object.fromEntries(contractServices().map((service) => [upstreamVariable(service), url]));
}
