/**
 * Upstream URLs for every service that owns an operation of the public contract, as the gateway's
 * tests configure them: derived from the contract, so a service added with `npm run new:service`
 * needs no edit here. The services get ports 8081, 8082, ... in the contract's order (the
 * example services' `npm start` ports: users 8081, products 8082, notifications 8083, ml 8084).
 */
import { loadContract } from "@portico/contracts";
import { contractServices } from "../../src/operations/table.js";
import { upstreamEnvVar } from "../../src/operations/upstream-list.js";

/** The services of the public contract, in document order. */
export const PUBLIC_SERVICES: readonly string[] = contractServices(loadContract("public"));

/** Service → its upstream URL (`http://127.0.0.1:<8081 + index>`). */
export const UPSTREAMS: Readonly<Record<string, string>> = Object.fromEntries(
  PUBLIC_SERVICES.map((service, index) => [service, `http://127.0.0.1:${8081 + index}`]),
);

/** `<SERVICE>_URL` → its upstream URL, for the gateway's configuration. */
export const UPSTREAM_ENV: Readonly<Record<string, string>> = Object.fromEntries(
  PUBLIC_SERVICES.map((service) => [upstreamEnvVar(service), UPSTREAMS[service] as string]),
);
