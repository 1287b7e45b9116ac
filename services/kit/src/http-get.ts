/**
 * A plain `GET` over `node:http`/`node:https` for the platform's own small requests: health
 * probes and JWK Set fetches. Not `fetch`: the first `fetch` in a process loads undici and compiles
 * its WebAssembly HTTP parser, about 10 MiB of resident memory that an otherwise idle gateway or
 * service then keeps for good (measured: the gateway idle 109 → 99 MiB, docs/benchmarks.md).
 */
import { get as httpGet } from "node:http";
import { get as httpsGet } from "node:https";
import type { FetchImplementation } from "jose";

/** What {@link getOnce} read: the status and the whole body. */
export interface GetResult {
  status: number;
  body: Buffer;
}

/** The largest body {@link getOnce} reads, in bytes (a JWK Set is a few KiB). */
export const GET_BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * `GET url` on a fresh connection (no agent: these requests are rare) and reads the body.
 * Redirects are not followed (a 3xx is returned as it is).
 * @param options.headers request headers.
 * @param options.signal aborts the request (e.g. `AbortSignal.timeout(ms)`).
 * @throws the signal's reason (a `TimeoutError` for `AbortSignal.timeout`) when aborted; the
 *   connection's error (its `code`, e.g. `ECONNREFUSED`) when it fails; an Error when the body
 *   passes {@link GET_BODY_LIMIT_BYTES}.
 */
export function getOnce(
  url: URL | string,
  options: { headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<GetResult> {
  const target = typeof url === "string" ? new URL(url) : url;
  const get = target.protocol === "https:" ? httpsGet : httpGet;
  return new Promise((resolve, reject) => {
    const { signal } = options;
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const request = get(target, { agent: false, headers: options.headers }, (response) => {
      const chunks: Buffer[] = [];
      let length = 0;
      response.on("data", (chunk: Buffer) => {
        length += chunk.length;
        if (length > GET_BODY_LIMIT_BYTES) {
          request.destroy(new Error(`response body over ${GET_BODY_LIMIT_BYTES} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      response.on("end", () =>
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }),
      );
      const failed = (err?: Error) =>
        reject(signal?.aborted ? signal.reason : (err ?? new Error("connection closed early")));
      response.on("error", failed);
      response.on("close", () => {
        if (!response.complete) failed();
      });
    });
    request.on("error", (err) => reject(signal?.aborted ? signal.reason : err));
    signal?.addEventListener("abort", () => request.destroy(), { once: true });
  });
}

/**
 * A fetch implementation for jose's `createRemoteJWKSet` (its `customFetch` option) on
 * {@link getOnce}: jose reads only the response's `status` and `json()`.
 */
export const jwksFetch: FetchImplementation = async (url, options) => {
  const headers: Record<string, string> = {};
  options.headers.forEach((value, name) => {
    headers[name] = value;
  });
  const { status, body } = await getOnce(url, { headers, signal: options.signal });
  return {
    status,
    json: async () => JSON.parse(body.toString("utf8")) as unknown,
  } as Response;
};
