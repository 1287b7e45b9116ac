/** Serves an app on a free port and calls it with fetch. */
import { createServer, type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";
import { requestJson, type TestResponse } from "@portico/kit/testing";

/** An app listening on 127.0.0.1. */
export interface TestServer {
  baseUrl: string;
  close(): Promise<void>;
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
  return <T = Record<string, unknown>>(
    method: string,
    path: string,
    options: { token?: string; body?: unknown } = {},
  ): Promise<TestResponse<T>> =>
    requestJson<T>(baseUrl, method, path, {
      ...(options.token ? { token: options.token } : {}),
      ...(options.body !== undefined ? { json: options.body } : {}),
    });
}
