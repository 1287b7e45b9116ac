/** Serves an app on a free port and calls it with fetch. */
import { createServer, type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";

/** An app listening on 127.0.0.1. */
export interface TestServer {
  baseUrl: string;
  close(): Promise<void>;
}

/** A JSON response: status, headers and parsed body (undefined when empty). */
export interface JsonResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}

/** Listens on a free port of 127.0.0.1. */
export async function serve(app: RequestListener): Promise<TestServer> {
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A client for one server; each call may carry a bearer token and a JSON body. */
export function client(baseUrl: string) {
  return async <T = Record<string, unknown>>(
    method: string,
    path: string,
    options: { token?: string; body?: unknown } = {},
  ): Promise<JsonResponse<T>> => {
    const headers: Record<string, string> = {};
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: (text ? JSON.parse(text) : undefined) as T,
    };
  };
}
