/**
 * @portico/client — a typed client for the Portico public API: openapi-fetch over the `paths`
 * that openapi-typescript generates from the bundled contracts, so a request or response that
 * breaks the contract is a compile error, plus a token helper for the password grant and a typed
 * subscription to the live event stream (`GET /events`, Server-Sent Events).
 */
import type { PublicApi } from "@portico/contracts";
import createClient, { type Client, type ClientOptions, type Middleware } from "openapi-fetch";
import {
  type EventSubscription,
  type StreamEvent,
  type SubscribeOptions,
  subscribeToEvents,
} from "./events.js";

export {
  type EventSubscription,
  type HeartbeatStreamEvent,
  type NotificationStreamEvent,
  type StreamEvent,
  StreamRefusedError,
  type SubscribeOptions,
} from "./events.js";

/** The public API's paths (generated from contracts/*.yaml). */
export type paths = PublicApi.paths;
/** The public API's schemas, e.g. `Schemas["Product"]`. */
export type Schemas = PublicApi.components["schemas"];
/** An RFC 9457 Problem Details body as every Portico error returns it. */
export type Problem = Schemas["Problem"];

/** A typed client of the public API, with a bearer token it attaches to every request. */
export interface PorticoClient extends Client<paths> {
  /** The token attached as `Authorization: Bearer …`, if any. */
  readonly token: string | undefined;
  /** Attaches `token` to later requests (undefined: send none). */
  setToken(token: string | undefined): void;
  /**
   * Obtains an access token with the password grant (`POST /auth/token`, RFC 6749 section 4.3)
   * and attaches it to later requests.
   * @returns the token response (`access_token`, `token_type`, `expires_in` in seconds).
   * @throws PorticoError carrying the Problem when the credentials are refused.
   */
  signIn(username: string, password: string): Promise<Schemas["TokenResponse"]>;
  /**
   * Subscribes to the signed-in user's live events (`GET /events`) with the client's token in
   * the `Authorization` header: `onEvent` receives each `notification` (its `data` a typed
   * `Notification`) and `heartbeat`, in order. Reconnects by itself with `Last-Event-ID`, so
   * nothing is missed while the connection is down. Works in Node 20+ and browsers (`fetch`
   * streams).
   * @returns once the stream is open: notifications created from then on will arrive.
   * @throws StreamRefusedError when the gateway refuses it (401 without a valid token, 503 while
   *   its event feed is down).
   */
  subscribe(
    onEvent: (event: StreamEvent) => void,
    options?: SubscribeOptions,
  ): Promise<EventSubscription>;
}

/** An error response turned into an exception: the HTTP status and its Problem Details body. */
export class PorticoError extends Error {
  readonly status: number;
  readonly problem: Problem | undefined;

  constructor(status: number, problem: Problem | undefined) {
    super(problem?.detail ?? problem?.title ?? `HTTP ${status}`);
    this.name = "PorticoError";
    this.status = status;
    this.problem = problem;
  }
}

/**
 * Creates a client.
 * @param options.baseUrl the gateway URL, e.g. `http://127.0.0.1:8080`.
 * @param options.token an access token to start with.
 * @param options.apiKey a service account's API key, sent as `X-API-Key` (the contract's
 *   `apiKeyAuth`) on every request; operations that accept only bearer tokens still need one.
 */
export function createPorticoClient(
  options: ClientOptions & { baseUrl: string; token?: string; apiKey?: string },
): PorticoClient {
  const { token: initialToken, apiKey, ...clientOptions } = options;
  const customFetch = clientOptions.fetch as typeof globalThis.fetch | undefined;
  const client = createClient<paths>(clientOptions);
  let token = initialToken;
  const auth: Middleware = {
    onRequest({ request }) {
      if (token && !request.headers.has("Authorization")) {
        request.headers.set("Authorization", `Bearer ${token}`);
      }
      if (apiKey && !request.headers.has("X-API-Key")) request.headers.set("X-API-Key", apiKey);
      return request;
    },
  };
  client.use(auth);
  const extended = Object.defineProperty(client, "token", { get: () => token, enumerable: true });
  return Object.assign(extended as Client<paths> & { readonly token: string | undefined }, {
    setToken(next: string | undefined) {
      token = next;
    },
    async signIn(username: string, password: string) {
      const { data, error, response } = await client.POST("/auth/token", {
        body: { grant_type: "password", username, password },
      });
      if (!data) throw new PorticoError(response.status, error as Problem | undefined);
      token = data.access_token;
      return data;
    },
    subscribe(onEvent: (event: StreamEvent) => void, subscribeOptions?: SubscribeOptions) {
      return subscribeToEvents(
        {
          baseUrl: clientOptions.baseUrl,
          token: () => token,
          ...(customFetch ? { fetch: customFetch } : {}),
        },
        onEvent,
        subscribeOptions,
      );
    },
  });
}

/**
 * Unwraps an openapi-fetch result: the data on success.
 * @throws PorticoError with the status and Problem body on an error response.
 */
export async function unwrap<T>(
  result: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await result;
  if (!response.ok) throw new PorticoError(response.status, error as Problem | undefined);
  return data as T;
}
