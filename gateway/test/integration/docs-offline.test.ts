/**
 * `/docs` renders offline (issue 13): headless Chromium loads the page from the gateway with
 * every request to another origin blocked and the page's own Content-Security-Policy enforced,
 * and finds the operations' summaries on it. Chromium is the Debian package (`/usr/bin/chromium`,
 * or `CHROMIUM_PATH`), driven by playwright-core.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { loadContract } from "@portico/contracts";
import { createLogger } from "@portico/kit";
import { type Browser, chromium } from "playwright-core";
import { createGateway, type Gateway } from "../../src/app.js";
import { loadGatewayConfig } from "../../src/config.js";
import { contractServices } from "../../src/operations/table.js";
import { upstreamEnvVar } from "../../src/operations/upstream-list.js";
import { type FakeJwks, serve, startJwks } from "../support/servers.js";

const log = createLogger("docs-offline-test", "silent");
const contract = loadContract("public");

let jwks: FakeJwks;
let gateway: Gateway;
let server: { url: string; close: () => Promise<void> };
let browser: Browser;

beforeAll(async () => {
  jwks = await startJwks();
  gateway = createGateway({
    config: loadGatewayConfig(
      {
        PORT: "0",
        LOG_LEVEL: "silent",
        JWKS_URL: jwks.url,
        ...Object.fromEntries(
          contractServices(contract).map((name) => [upstreamEnvVar(name), "http://127.0.0.1:9"]),
        ),
      },
      { exit: false },
    ),
    logger: log,
  });
  server = await serve(gateway.listener);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await gateway?.close();
  await jwks?.close();
});

describe("GET /docs", () => {
  it("renders the operations' summaries with no network beyond the gateway", async () => {
    const page = await browser.newPage();
    const elsewhere: string[] = [];
    const logged: string[] = [];
    const origin = new URL(server.url).origin;
    await page.route("**/*", (route) => {
      const url = route.request().url();
      logged.push(`request ${url}`);
      if (url.startsWith(origin)) return route.continue();
      elsewhere.push(url);
      return route.abort("internetdisconnected");
    });
    const violations: string[] = [];
    page.on("console", (message) => {
      logged.push(message.text());
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
    page.on("pageerror", (err) => logged.push(`pageerror: ${err.message}`));

    const response = await page.goto(`${server.url}/docs`, { waitUntil: "load" });
    expect(response?.status()).toBe(200);
    expect(response?.headers()["content-security-policy"]).toMatch(/script-src 'self'(;|$)/);

    const summaries = Object.values(contract.paths as Record<string, Record<string, unknown>>)
      .flatMap((item) => Object.values(item))
      .map((op) => (op as { summary?: string }).summary)
      .filter((summary): summary is string => typeof summary === "string")
      .slice(0, 8);
    expect(summaries.length).toBeGreaterThan(3);
    for (const summary of summaries) {
      await page
        .getByText(summary, { exact: true })
        .first()
        .waitFor({ state: "attached", timeout: 20_000 })
        .catch(async (err: unknown) => {
          const text = (await page.locator("body").innerText()).slice(-2500);
          throw new Error(`${String(err)}\nconsole: ${logged.join(" | ")}\nbody: ${text}`);
        });
    }
    expect(violations.filter((text) => /script/i.test(text))).toEqual([]);
    expect(elsewhere).toEqual([]);
    await page.close();
  }, 90_000);

  it("serves the reference's script from the gateway itself", async () => {
    const response = await fetch(`${server.url}/docs/scalar.js`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/javascript/);
    expect((await response.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
  });
});
