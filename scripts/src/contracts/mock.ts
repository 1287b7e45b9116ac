/**
 * A mock of the public API from the contract alone: Stoplight Prism (`prism mock`, OpenAPI 3.1)
 * on the public document. Responses come from the contract's examples (or are generated from
 * the schemas where an operation has none); requests are validated against the contract.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { InfraError } from "../infra/errors.js";
import { type LogSink, type ManagedProcess, silentSink, spawnManaged } from "../infra/process.js";
import { dataRoot, repoRoot } from "../paths.js";
import { readPublicDocument } from "./public-document.js";

/** The port `npm run mock` listens on unless `MOCK_PORT` says otherwise. */
export const DEFAULT_MOCK_PORT = 4010;

const PRISM = join(repoRoot, "node_modules", ".bin", "prism");
/** Prism prints this line once it accepts requests. */
const LISTENING = /Prism is listening on/;

/** Options of {@link startMock}. */
export interface StartMockOptions {
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Where Prism's output lines go (they name each request and each validation failure). */
  log?: LogSink;
  /** How long to wait for Prism to listen, in ms (default 60 000). */
  timeoutMs?: number;
}

/** A running mock server. */
export interface MockServer {
  /** Its base URL, e.g. `http://127.0.0.1:4010`. */
  url: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/**
 * Writes the public document (platform extensions stripped) where Prism reads it.
 * @returns the file's path (under `.data/mock/`).
 */
export async function writeMockDocument(): Promise<string> {
  const dir = join(dataRoot, "mock");
  await mkdir(dir, { recursive: true });
  const file = join(dir, "public.openapi.json");
  await writeFile(file, `${JSON.stringify(await readPublicDocument(), null, 2)}\n`);
  return file;
}

/**
 * Starts `prism mock` on the public document and waits until it listens.
 * @throws InfraError when Prism exits or does not listen in time (its last lines included).
 */
export async function startMock(options: StartMockOptions): Promise<MockServer> {
  const { port, host = "127.0.0.1", log = silentSink, timeoutMs = 60_000 } = options;
  const document = await writeMockDocument();
  let ready: () => void = () => {};
  const listening = new Promise<void>((resolve) => {
    ready = resolve;
  });
  const proc = spawnManaged({
    name: "mock",
    command: PRISM,
    args: ["mock", document, "--host", host, "--port", String(port)],
    log: (name, line, stream) => {
      if (LISTENING.test(line)) ready();
      log(name, line, stream);
    },
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      listening,
      proc.exited.then(() => {
        throw new InfraError(`prism mock exited before listening:\n${proc.tail().join("\n")}`);
      }),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new InfraError(`prism mock did not listen within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
  } catch (error) {
    await proc.stop();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return {
    url: `http://${host}:${port}`,
    process: proc,
    stop: async () => {
      await proc.stop();
    },
  };
}
