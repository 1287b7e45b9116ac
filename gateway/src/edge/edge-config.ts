/**
 * The gateway's edge-protection variables (part of `gatewayConfigShape`): NATS (API-key checks,
 * the shared rate-limit store), rate limits, the whole-request timeout, CORS and trusted proxies.
 */
import { isIP } from "node:net";
import { z } from "zod";

/** A non-negative integer read from a string. */
const count = () => z.coerce.number().int().min(0);

/** Names `proxy-addr` (Express's `trust proxy`) accepts for address ranges. */
const PROXY_RANGE_NAMES = new Set(["loopback", "linklocal", "uniquelocal"]);

/** Whether `item` is an IP address, an IP/prefix (CIDR) or one of {@link PROXY_RANGE_NAMES}. */
function isProxyRange(item: string): boolean {
  if (PROXY_RANGE_NAMES.has(item)) return true;
  const [address = "", prefix, ...rest] = item.split("/");
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return Number.isInteger(bits) && bits >= 0 && bits <= (family === 4 ? 32 : 128);
}

/**
 * Express's `trust proxy` setting from `TRUST_PROXY`: `false` (the default: the client is the
 * peer of the connection, X-Forwarded-For is ignored), `true` (trust every hop: only behind a
 * proxy that overwrites the header), a hop count (`1`: one proxy in front), or a comma-separated
 * list of addresses, CIDR ranges and `loopback`/`linklocal`/`uniquelocal`.
 */
export const trustProxySetting = z
  .string()
  .default("false")
  .transform((value, ctx): boolean | number | string => {
    const trimmed = value.trim();
    if (trimmed === "" || trimmed === "false") return false;
    if (trimmed === "true") return true;
    if (/^\d+$/.test(trimmed)) return Number(trimmed);
    const items = trimmed.split(",").map((item) => item.trim());
    const invalid = items.filter((item) => !isProxyRange(item));
    if (invalid.length > 0) {
      ctx.addIssue({
        code: "custom",
        message: `must be false, true, a hop count, or addresses/CIDR ranges/loopback (not ${invalid.join(", ")})`,
      });
      return z.NEVER;
    }
    return items.join(",");
  });

/**
 * `CORS_ORIGINS`: the browser origins (`scheme://host[:port]`, RFC 6454) allowed to call the API
 * cross-origin, comma-separated; `*` allows any; empty (the default) allows none.
 */
export const corsOrigins = z
  .string()
  .default("")
  .transform((value, ctx) => {
    const items = value
      .split(",")
      .map((item) => item.trim())
      .filter((item) => item !== "");
    for (const item of items) {
      if (item === "*") continue;
      let origin: string | undefined;
      try {
        origin = new URL(item).origin;
      } catch {
        origin = undefined;
      }
      if (origin !== item.replace(/\/$/, "")) {
        ctx.addIssue({
          code: "custom",
          message: `${item} is not an origin like https://app.example`,
        });
        return z.NEVER;
      }
    }
    return items.map((item) => item.replace(/\/$/, ""));
  });

/** Variables of the edge protection, with their defaults. */
export const edgeConfigShape = {
  /**
   * NATS server URL(s), comma-separated. Optional: with it the gateway verifies API keys
   * (`users.query.verifyApiKey`) and can share rate-limit counters (`RATE_LIMIT_STORE=nats`);
   * without it every API key is refused with 401.
   */
  NATS_URL: z.string().min(1).optional(),
  /** How long an API key's verification (valid or not) is reused, in ms; 0: ask every time. */
  API_KEY_CACHE_TTL_MS: count().default(5_000),
  /** Length of one rate-limit window, in ms. */
  RATE_LIMIT_WINDOW_MS: z.coerce.number().int().positive().default(60_000),
  /** Requests per window for each signed-in user (token `sub`) or API key; 0: no limit. */
  RATE_LIMIT_MAX: count().default(1_200),
  /** Requests per window for each client address without valid credentials; 0: no limit. */
  RATE_LIMIT_ANONYMOUS_MAX: count().default(600),
  /**
   * Where the counters live: `memory` (this process) or `nats` (a JetStream KV bucket shared by
   * every gateway instance; needs `NATS_URL`).
   */
  RATE_LIMIT_STORE: z.enum(["memory", "nats"]).default("memory"),
  /** Longest a request may take until its response starts, in ms (then 504). */
  REQUEST_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
  CORS_ORIGINS: corsOrigins,
  TRUST_PROXY: trustProxySetting,
};
