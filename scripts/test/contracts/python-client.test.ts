/**
 * The Python client (clients/python, `portico_client`) against the whole system as processes:
 * its pytest suite runs with the gateway's URL and the administrator's address.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { ensurePythonTools } from "../../src/fuzz/venv.js";
import { PYTHON_CLIENT_PROJECT, PYTHON_CLIENT_TOOLS } from "../../src/generate/python-client.js";
import { startTestSystem, type TestSystem } from "../../src/testing/system.js";

let system: TestSystem;
let bin: string;

beforeAll(async () => {
  bin = await ensurePythonTools(PYTHON_CLIENT_TOOLS, () => {});
  system = await startTestSystem("python-client");
}, 300_000);

afterAll(async () => {
  await system?.stop();
}, 60_000);

describe("portico_client (Python)", () => {
  it("passes its pytest suite against the running system", async () => {
    const result = await promisify(execFile)(join(bin, "pytest"), ["-q", "--no-header"], {
      cwd: PYTHON_CLIENT_PROJECT,
      env: {
        ...process.env,
        PORTICO_BASE_URL: system.urls.gateway,
        PORTICO_ADMIN_EMAIL: system.adminEmail,
      },
    }).catch((error: { stdout: string; stderr: string }) => error);
    expect(result.stderr).toBe("");
    expect(result.stdout).toMatch(/^\d+ passed in /m);
    expect(result.stdout).not.toMatch(/failed|error/);
  }, 120_000);
});
