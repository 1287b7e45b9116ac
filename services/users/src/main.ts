/** Entry point of the users service: config → service (db, migrations, NATS, app) → listen. */
import { createLogger, listen, startTelemetry } from "@portico/kit";
import { readConfig } from "./config.js";
import { createService } from "./service.js";

const config = readConfig();
// Spans are exported only when OTEL_EXPORTER_OTLP_ENDPOINT is set.
const telemetry = await startTelemetry({ serviceName: "users" });
const log = createLogger("users", config.LOG_LEVEL);

try {
  const service = await createService(config, log);
  await listen(service.app, {
    port: config.PORT,
    host: config.HOST,
    log,
    onClose: [service.close, telemetry.shutdown],
  });
} catch (err) {
  log.fatal({ err }, "users service failed to start");
  process.exit(1);
}
