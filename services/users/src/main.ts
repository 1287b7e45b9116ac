/** Entry point of the users service: config → service (db, migrations, NATS, app) → listen. */
import { createLogger, listen } from "@portico/kit";
import { loadUsersConfig } from "./config.js";
import { startUsersService } from "./service.js";

const config = loadUsersConfig();
const log = createLogger("users", config.LOG_LEVEL);

try {
  const service = await startUsersService(config, log);
  await listen(service.app, {
    port: config.PORT,
    host: config.HOST,
    log,
    onClose: [service.close],
  });
} catch (err) {
  log.fatal({ err }, "users service failed to start");
  process.exit(1);
}
