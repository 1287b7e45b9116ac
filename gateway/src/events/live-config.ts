/**
 * The variables of the gateway's event-fed side (part of `gatewayConfigShape`): the declared
 * caches' shared bounds and the event stream's heartbeat. Both need `NATS_URL`
 * (edge/edge-config.ts): without it the caches stay off and `GET /events` answers 503.
 */
import { z } from "zod";
import { DEFAULT_HEARTBEAT_MS } from "./events-stream.js";
import { DEFAULT_CACHE_MAX_BYTES, DEFAULT_CACHE_MAX_ENTRIES } from "./response-cache.js";

/** A positive integer read from a string. */
const positiveInt = () => z.coerce.number().int().positive();

/** Variables of the declared caches and the event stream, with their defaults. */
export const liveConfigShape = {
  /** Most answers the declared caches keep together (least recently used go first). */
  CACHE_MAX_ENTRIES: positiveInt().default(DEFAULT_CACHE_MAX_ENTRIES),
  /** Most body bytes the declared caches keep over all entries (default 64 MiB). */
  CACHE_MAX_BYTES: positiveInt().default(DEFAULT_CACHE_MAX_BYTES),
  /** Pause between two `heartbeat` events of `GET /events`, in ms. */
  SSE_HEARTBEAT_MS: positiveInt().default(DEFAULT_HEARTBEAT_MS),
};
