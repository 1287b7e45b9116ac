/**
 * Integration test support: a users service started exactly as `main.ts` starts it (real
 * PostgreSQL database of its own, real NATS), listening on a free port, plus small HTTP and
 * JetStream helpers. NATS_URL and DATABASE_URL come from jest's globalSetup.
 */
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { jetstream } from "@nats-io/jetstream";
import { type EventEnvelope, type EventSubject, STREAMS } from "@portico/contracts";
import { createLogger, type NatsConnection } from "@portico/kit";
import { createDatabase } from "@portico/scripts/testing/provision";
import pg from "pg";
import { type Config, readConfig } from "../../src/config.js";
import { createService, type UsersService } from "../../src/service.js";

/** A users service listening on 127.0.0.1. */
export interface RunningUsers {
  baseUrl: string;
  service: UsersService;
  /** Stops listening and closes the service (NATS, database pool). */
  stop: () => Promise<void>;
}

function requiredEnv(name: "NATS_URL" | "DATABASE_URL"): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through jest (globalSetup)`);
  return value;
}

/** A fresh database of its own for one test file; resolves to its URL. */
export function createTestDatabase(prefix: string): Promise<string> {
  return createDatabase(prefix, requiredEnv("DATABASE_URL"));
}

/**
 * Drops a database made by {@link createTestDatabase}. Waits (up to ~5 s) for connections that
 * are still closing instead of terminating them, which would surface as errors in their pools.
 */
export async function dropTestDatabase(databaseUrl: string): Promise<void> {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
  const client = new pg.Client({ connectionString: requiredEnv("DATABASE_URL") });
  await client.connect();
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)}`);
        return;
      } catch (err) {
        // 55006 object_in_use: a connection has not finished closing yet.
        if ((err as { code?: string }).code !== "55006" || attempt >= 50) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    await client.end();
  }
}

/** The configuration of a test instance on `databaseUrl`, through the real config loader. */
export function testConfig(databaseUrl: string, env: Record<string, string> = {}): Config {
  return readConfig(
    {
      NODE_ENV: "test",
      PORT: "0",
      LOG_LEVEL: "silent",
      DATABASE_URL: databaseUrl,
      NATS_URL: requiredEnv("NATS_URL"),
      ...env,
    },
    { exit: false },
  );
}

/**
 * Starts the service with `config` and listens on a free port; by default waits until its NATS
 * side (stream, queries, outbox relay) is attached, as the tests on the shared NATS expect.
 */
export async function startUsers(
  config: Config,
  options: { waitForNats?: boolean } = {},
): Promise<RunningUsers> {
  const service = await createService(config, createLogger("users", config.LOG_LEVEL));
  if (options.waitForNats !== false) await service.natsAttached;
  const server = service.app.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  let stopping: Promise<void> | undefined;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    service,
    stop: () =>
      (stopping ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
        await service.close();
      })()),
  };
}

/** A parsed HTTP response. */
export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

/**
 * Sends a request to the service. An object body is sent as JSON, a URLSearchParams as
 * `application/x-www-form-urlencoded`. The response body is parsed as JSON when there is one.
 */
export async function request<T = Record<string, unknown>>(
  baseUrl: string,
  method: string,
  path: string,
  options: {
    body?: object | URLSearchParams;
    token?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | URLSearchParams | undefined;
  if (options.body instanceof URLSearchParams) {
    body = options.body;
  } else if (options.body) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(options.body);
  }
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: (text ? JSON.parse(text) : undefined) as T,
  };
}

/** Registers a user; resolves to the response. */
export function register(
  baseUrl: string,
  user: { email: string; password: string; name: string },
): Promise<ApiResponse> {
  return request(baseUrl, "POST", "/users", { body: user });
}

/** Issues a token with the password grant (JSON); throws unless the service answers 200. */
export async function tokenFor(baseUrl: string, email: string, password: string): Promise<string> {
  const response = await request<{ access_token: string }>(baseUrl, "POST", "/auth/token", {
    body: { grant_type: "password", username: email, password },
  });
  if (response.status !== 200) throw new Error(`token request failed: ${response.status}`);
  return response.body.access_token;
}

/** An event found on JetStream, with the request id from its NATS headers. */
export interface ObservedEvent<S extends EventSubject> {
  envelope: EventEnvelope<S>;
  requestId: string | undefined;
}

/**
 * Reads the `USERS` stream (ephemeral ordered consumer, from the start) until an event on `subject` for the
 * aggregate `aggregateId` shows up; resolves to undefined when none arrives within `timeoutMs`.
 */
export async function findEvent<S extends EventSubject>(
  nc: NatsConnection,
  subject: S,
  aggregateId: string,
  timeoutMs = 5_000,
): Promise<ObservedEvent<S> | undefined> {
  const consumer = await jetstream(nc).consumers.get(STREAMS.users.name, {
    filter_subjects: subject,
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const msg = await consumer.next({ expires: Math.max(1_000, deadline - Date.now()) });
    if (!msg) continue;
    const envelope = msg.json<EventEnvelope<S>>();
    if (envelope.subject === aggregateId) {
      return { envelope, requestId: msg.headers?.get("X-Request-Id") || undefined };
    }
  }
  return undefined;
}
