/**
 * Section (d): restock → notification at the client. A user subscribed to a product holds
 * `GET /events` (Server-Sent Events) open through the gateway; an administrator sets the product's
 * stock from 0 to 5 (`PUT /products/{id}/stock`), which goes products → NATS → notifications
 * (inbox row) → NATS → gateway → the stream. Each sample is the time from sending the restock to
 * the `notification` event arriving, in ms.
 */
import { loadContract } from "@portico/contracts";
import type { Account } from "./accounts.js";
import { quantile } from "./load.js";

/** Section (d)'s outcome. */
export type RestockToSseResult =
  | { measured: true; samples: number; p50: number; p99: number; max: number }
  | { measured: false; reason: string };

/** One parsed Server-Sent Event (WHATWG HTML section 9.2). */
interface ServerSentEvent {
  event: string;
  id?: string;
  data: string;
}

/**
 * Reads Server-Sent Events from a response body, calling `onEvent` for each until the body ends
 * or the signal aborts.
 */
async function readEvents(
  body: ReadableStream<Uint8Array>,
  onEvent: (event: ServerSentEvent) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = "";
  let current: ServerSentEvent = { event: "message", data: "" };
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let newline = buffer.search(/\r?\n/);
    while (newline >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + (buffer[newline] === "\r" ? 2 : 1));
      if (line === "") {
        if (current.data !== "" || current.id !== undefined) onEvent(current);
        current = { event: "message", data: "" };
      } else if (!line.startsWith(":")) {
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") current.event = value;
        else if (field === "id") current.id = value;
        else if (field === "data") current.data += current.data === "" ? value : `\n${value}`;
      }
      newline = buffer.search(/\r?\n/);
    }
  }
}

/** Sends a JSON request with a bearer token; throws unless the status is `expected`. */
async function call(
  url: string,
  method: string,
  token: string,
  body: unknown,
  expected: number[],
): Promise<unknown> {
  const response = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!expected.includes(response.status)) {
    throw new Error(`${method} ${url}: ${response.status} ${text}`);
  }
  return text === "" ? undefined : JSON.parse(text);
}

/**
 * Measures `samples` restocks (0 → 5) of a fresh product, one at a time, each timed until its
 * notification arrives on the user's event stream (at most `timeoutMs` each).
 */
export async function benchRestockToSse(
  gateway: string,
  admin: Account,
  user: Account,
  samples = 200,
  timeoutMs = 10_000,
): Promise<RestockToSseResult> {
  const paths = (loadContract("public").paths ?? {}) as Record<string, unknown>;
  if (!paths["/events"]) {
    return { measured: false, reason: "the public contract has no `GET /events` yet" };
  }
  const stream = new AbortController();
  const opened = await fetch(`${gateway}/events`, {
    headers: { authorization: `Bearer ${user.token}`, accept: "text/event-stream" },
    signal: stream.signal,
  }).catch((error: unknown) => error as Error);
  if (opened instanceof Error || opened.status !== 200 || !opened.body) {
    stream.abort();
    const status = opened instanceof Error ? opened.message : `HTTP ${opened.status}`;
    return { measured: false, reason: `\`GET /events\` did not open a stream (${status})` };
  }
  let waiting: { productId: string; resolve: (at: number) => void } | undefined;
  const reading = readEvents(opened.body, (event) => {
    if (event.event !== "notification" || !waiting) return;
    const at = performance.now();
    const data = JSON.parse(event.data) as { productId?: string };
    if (data.productId === waiting.productId) waiting.resolve(at);
  }).catch(() => undefined);

  try {
    const product = (await call(
      `${gateway}/products`,
      "POST",
      admin.token,
      {
        name: "SSE benchmark cup",
        description: "Restocked over and over",
        price: { amount: 999, currency: "EUR" },
        stock: 0,
      },
      [201],
    )) as { id: string };
    await call(`${gateway}/subscriptions`, "POST", user.token, { productId: product.id }, [201]);
    const stock = `${gateway}/products/${product.id}/stock`;
    const latencies: number[] = [];
    for (let i = 0; i < samples; i += 1) {
      await call(stock, "PUT", admin.token, { quantity: 0 }, [200]);
      const arrived = new Promise<number>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no notification within ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiting = {
          productId: product.id,
          resolve: (at) => {
            clearTimeout(timer);
            resolve(at);
          },
        };
      });
      const sent = performance.now();
      await call(stock, "PUT", admin.token, { quantity: 5 }, [200]);
      latencies.push((await arrived) - sent);
      waiting = undefined;
    }
    const sorted = Float64Array.from(latencies).sort();
    return {
      measured: true,
      samples: sorted.length,
      p50: quantile(sorted, 0.5),
      p99: quantile(sorted, 0.99),
      max: sorted[sorted.length - 1] ?? Number.NaN,
    };
  } catch (error) {
    return { measured: false, reason: (error as Error).message };
  } finally {
    stream.abort();
    await reading;
  }
}
