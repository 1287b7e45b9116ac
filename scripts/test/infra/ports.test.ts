import { createServer } from "node:net";
import { describe, expect, it } from "@jest/globals";
import { getFreePort, isPortFree } from "../../src/infra/ports.js";

describe("ports", () => {
  it("finds a free port, and tells a taken one apart", async () => {
    const port = await getFreePort();
    expect(port).toBeGreaterThan(1024);
    expect(await isPortFree(port)).toBe(true);

    const server = createServer();
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    try {
      expect(await isPortFree(port)).toBe(false);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
