/** Gateway entry point: config → app → listen (wiring only). */
import { createLogger, listen, startTelemetry } from "@portico/kit/core";
import { createGateway } from "./app.js";
import { loadGatewayConfig } from "./config.js";

const config = loadGatewayConfig();
// Spans are exported only when OTEL_EXPORTER_OTLP_ENDPOINT is set.
const telemetry = await startTelemetry({ serviceName: "gateway" });
const logger = createLogger("gateway", config.LOG_LEVEL);
const gateway = createGateway({ config, logger });
// Open event streams would hold the server until the grace period ends: end them as shutdown
// begins (registered before listen's own handlers, so this runs first; clients reconnect).
for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, gateway.endStreams);
await listen(gateway.listener, {
  port: config.PORT,
  host: config.HOST,
  log: logger,
  onClose: [gateway.close, telemetry.shutdown],
});
