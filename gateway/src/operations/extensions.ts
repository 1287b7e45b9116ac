/**
 * The `x-portico-*` operation extensions the gateway reads from the public contract, parsed and
 * checked once at start-up (zod). What each one declares:
 *
 * - `x-portico-service: <owner>`: the service that owns the operation (`gateway`: served locally).
 * - `x-portico-timeout-ms: <int>`: the operation's own upstream timeout.
 * - `x-portico-cache`: the gateway keeps the operation's 200s, invalidated by events:
 *   ```yaml
 *   x-portico-cache:
 *     key: productId            # the path parameter keying an entry (all its query strings)
 *     invalidatedBy:            # events dropping the entry of the key they carry
 *       - subjects: [products.product.updated, products.product.deleted]
 *         key: subject          # where the event carries the key: the envelope's `subject`
 *                               # (default) or a field path such as `data.productId`
 *     maxBodyBytes: 262144      # larger answers are not kept (default 256 KiB)
 *   ```
 * - `x-portico-feed`: the events that reach their recipient live on the gateway's event stream
 *   (`GET /events`):
 *   ```yaml
 *   x-portico-feed:
 *     - subject: notifications.notification.created
 *       event: notification     # the Server-Sent Event's `event` field
 *       recipient: data.userId  # the field naming the recipient principal (its `sub`)
 *       data: data.notification # what is sent as the event's `data` (default `data`)
 *   ```
 *   Declared on the operation whose resource the events are about (e.g. the list of a user's
 *   notifications).
 */
import { isEventSubject } from "@portico/contracts";
import { z } from "zod";

/** The extension naming an operation's owner. */
export const OWNER_EXTENSION = "x-portico-service";
/** The extension giving an operation its own upstream timeout, in ms. */
export const TIMEOUT_EXTENSION = "x-portico-timeout-ms";
/** The extension declaring an operation's event-invalidated cache. */
export const CACHE_EXTENSION = "x-portico-cache";
/** The extension declaring events pushed live to their recipients. */
export const FEED_EXTENSION = "x-portico-feed";

/** Default largest body kept by a declared cache: 256 KiB. */
export const DEFAULT_CACHE_MAX_BODY_BYTES = 256 * 1024;

/** A dotted path into an event envelope (`subject`, `data.productId`), as its segments. */
const fieldPath = z
  .string()
  .regex(/^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/, "a dotted field path such as data.userId")
  .transform((path) => path.split("."));

const eventSubject = z.string().refine(isEventSubject, "not a subject of contracts/events.yaml");

const cacheSchema = z.strictObject({
  key: z.string().min(1),
  invalidatedBy: z
    .array(
      z.strictObject({
        subjects: z.array(eventSubject).min(1),
        key: fieldPath.default(["subject"]),
      }),
    )
    .min(1),
  maxBodyBytes: z.number().int().positive().default(DEFAULT_CACHE_MAX_BODY_BYTES),
});

const feedSchema = z
  .array(
    z.strictObject({
      subject: eventSubject,
      event: z.string().regex(/^[A-Za-z][\w.-]*$/, "an SSE event name"),
      recipient: fieldPath,
      data: fieldPath.default(["data"]),
    }),
  )
  .min(1);

/** An operation's declared cache (`x-portico-cache`), parsed. */
export type CachePolicy = z.infer<typeof cacheSchema>;
/** One declared feed of events (an item of `x-portico-feed`), parsed. */
export type FeedPolicy = z.infer<typeof feedSchema>[number];

/** The gateway extensions of one operation, parsed. */
export interface OperationExtensions {
  owner: string | undefined;
  timeoutMs: number | undefined;
  cache: CachePolicy | undefined;
  feeds: FeedPolicy[];
}

/**
 * Parses the gateway extensions of operation `op` (an OpenAPI Operation Object).
 * @throws Error naming the operation and the extension when one is malformed.
 */
export function operationExtensions(
  operationId: string,
  op: Record<string, unknown>,
): OperationExtensions {
  const parse = <T>(extension: string, schema: z.ZodType<T>): T | undefined => {
    if (op[extension] === undefined) return undefined;
    const parsed = schema.safeParse(op[extension]);
    if (parsed.success) return parsed.data;
    const why = parsed.error.issues
      .map((issue) => `${issue.path.join(".") || "(value)"}: ${issue.message}`)
      .join("; ");
    throw new Error(`${operationId}: ${extension} is invalid (${why})`);
  };
  return {
    owner: ownerOf(op),
    timeoutMs: parse(TIMEOUT_EXTENSION, z.number().int().positive()),
    cache: parse(CACHE_EXTENSION, cacheSchema),
    feeds: parse(FEED_EXTENSION, feedSchema) ?? [],
  };
}

/** An operation's owner (`x-portico-service`), if it names one. */
export function ownerOf(op: Record<string, unknown>): string | undefined {
  const owner = op[OWNER_EXTENSION];
  return typeof owner === "string" && owner !== "" ? owner : undefined;
}

/** The value at `path` in `value` (an event envelope), whatever it is. */
export function valueAt(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** The value at `path` in `value` (an event envelope), when it is a non-empty string. */
export function stringAt(value: unknown, path: readonly string[]): string | undefined {
  const found = valueAt(value, path);
  return typeof found === "string" && found !== "" ? found : undefined;
}
