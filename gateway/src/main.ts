/** Gateway entry point: config → app → listen (wiring only). */
import { createLogger, listen } from "@portico/kit";
import { createGateway } from "./app.js";
import { loadGatewayConfig } from "./config.js";

const config = loadGatewayConfig();
const logger = createLogger("gateway", config.LOG_LEVEL);
const gateway = createGateway({ config, logger });
await listen(gateway.app, {
  port: config.PORT,
  host: config.HOST,
  log: logger,
  onClose: [gateway.close],
});
