/**
 * `npm run mock`: serves the public API from the contract alone (Stoplight Prism) on
 * `MOCK_PORT` (default 4010) until interrupted. Run `npm run generate` first after editing a
 * contract: the mock reads contracts/generated/public.openapi.json.
 */
import { isInfraError } from "../infra/errors.js";
import { prefixedSink } from "../infra/process.js";
import { onShutdownSignal } from "../infra/shutdown.js";
import { DEFAULT_MOCK_PORT, startMock } from "./mock.js";

const port = Number(process.env.MOCK_PORT ?? DEFAULT_MOCK_PORT);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`MOCK_PORT must be a TCP port number, got "${process.env.MOCK_PORT}"`);
  process.exit(1);
}
try {
  const mock = await startMock({
    port,
    host: process.env.MOCK_HOST ?? "127.0.0.1",
    log: prefixedSink(),
  });
  console.log(`Mock of the public API on ${mock.url} (Ctrl-C stops it)`);
  onShutdownSignal(async () => {
    await mock.stop();
    return 0;
  });
  await mock.process.exited;
} catch (error) {
  console.error(isInfraError(error) ? error.message : error);
  process.exit(1);
}
