/** A small fetch wrapper for driving the service over HTTP in tests. */

/** A response with its body parsed (JSON when there is one). */
export interface TestResponse {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary response bodies
  body: any;
}

/** Options of {@link request}. */
export interface RequestOptions {
  /** Bearer token for the `Authorization` header. */
  token?: string;
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as is with `Content-Type: application/json` (for malformed bodies). */
  raw?: string;
  headers?: Record<string, string>;
}

/** Sends `method path` to `baseUrl` and parses the response body. */
export async function request(
  baseUrl: string,
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<TestResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.json !== undefined || options.raw !== undefined) {
    headers["content-type"] = "application/json";
    body = options.raw ?? JSON.stringify(options.json);
  }
  const res = await fetch(`${baseUrl}${path}`, { method, headers, ...(body ? { body } : {}) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}
