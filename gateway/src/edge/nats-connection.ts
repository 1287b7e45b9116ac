/**
 * The gateway's optional NATS connection (`NATS_URL`), established in the background so the
 * gateway serves traffic while NATS is unreachable: what needs it (API-key checks, the shared
 * rate-limit store) answers 503 or falls back until it is up.
 */
import { type BackgroundNats, connectNatsInBackground, type Logger } from "@portico/kit/core";

/**
 * Connects to `url` in the background (retrying with back-off; the client then reconnects by
 * itself); undefined when no URL is configured.
 */
export function connectGatewayNats(
  url: string | undefined,
  log: Logger,
): BackgroundNats | undefined {
  if (!url) return undefined;
  return connectNatsInBackground({ url, name: "gateway", log, attach: async () => undefined });
}
