/**
 * `npm run mock` (Prism on the public document) answers the typed client from the contract
 * alone: examples as responses, requests validated, credentials required where the contract
 * says so.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createPorticoClient, PorticoError, unwrap } from "@portico/client";
import { type MockServer, startMock } from "../../src/contracts/mock.js";
import { getFreePort } from "../../src/infra/ports.js";

let mock: MockServer;

beforeAll(async () => {
  mock = await startMock({ port: await getFreePort() });
}, 90_000);

afterAll(async () => {
  await mock?.stop();
});

describe("npm run mock", () => {
  it("answers a typed read with the contract's example", async () => {
    const client = createPorticoClient({ baseUrl: mock.url });
    const page = await unwrap(client.GET("/products", { params: { query: { limit: 10 } } }));
    expect(page.items.length).toBeGreaterThan(0);
    expect(page.items[0]?.price.currency).toMatch(/^[A-Z]{3}$/);
    expect(page).toHaveProperty("nextCursor");
  });

  it("signs in with the password grant and reads the current user with the token", async () => {
    const client = createPorticoClient({ baseUrl: mock.url });
    const token = await client.signIn("ada@example.com", "a-password");
    expect(token.token_type).toBe("Bearer");
    expect(client.token).toBe(token.access_token);
    const me = await unwrap(client.GET("/users/me"));
    expect(me.email).toContain("@");
  });

  it("refuses an operation that needs credentials without them (401 Problem)", async () => {
    const client = createPorticoClient({ baseUrl: mock.url });
    const error = await unwrap(client.GET("/users/me")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PorticoError);
    expect((error as PorticoError).status).toBe(401);
    expect((error as PorticoError).problem?.status).toBe(401);
  });

  it("validates requests: an invalid body gets 400 application/problem+json, the violations in sl-violations", async () => {
    const response = await fetch(`${mock.url}/users`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "not-an-address" }),
    });
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    const problem = (await response.json()) as { status: number; errors?: unknown[] };
    expect(problem.status).toBe(400);
    const violations = JSON.parse(response.headers.get("sl-violations") ?? "[]") as {
      location: string[];
      message: string;
    }[];
    expect(violations.map((v) => v.message).join("\n")).toMatch(/password/);
    expect(violations.some((v) => v.location.join("/") === "request/body/email")).toBe(true);
  });
});
