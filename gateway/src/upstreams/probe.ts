/** One HTTP health probe: `GET <url>` must answer 2xx within a deadline. */
import { getOnce } from "@portico/kit/core";

/** Default deadline of one probe, in ms. */
export const PROBE_TIMEOUT_MS = 1_000;

/**
 * GETs `url` and resolves when it answers 2xx within `timeoutMs`.
 * @throws Error with a short reason (status code, timeout, or the connection error's code) and no
 *   URL, since the reasons are shown on the public `/readyz`.
 */
export async function probe(url: URL, timeoutMs = PROBE_TIMEOUT_MS): Promise<void> {
  let status: number;
  try {
    ({ status } = await getOnce(url, { signal: AbortSignal.timeout(timeoutMs) }));
  } catch (err) {
    const e = err as Error & { code?: string };
    if (e.name === "TimeoutError") throw new Error(`no answer within ${timeoutMs} ms`);
    throw new Error(`unreachable (${e.code ?? e.message})`);
  }
  if (status < 200 || status > 299) throw new Error(`answered ${status}`);
}

/** `path` resolved against a base URL that may carry a path prefix (`http://h/api` + `healthz`). */
export function resolveUnder(base: URL, path: string): URL {
  const prefix = base.href.endsWith("/") ? base.href : `${base.href}/`;
  return new URL(path.replace(/^\/+/, ""), prefix);
}
