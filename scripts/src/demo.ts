/**
 * `npm run demo` — drives the demo journey through @portico/client against the running system
 * (`npm start` in another terminal) and prints each step.
 * Env: GATEWAY_URL (default http://127.0.0.1:8080), MAIL_API_URL (default http://127.0.0.1:8025),
 * DEMO_ADMIN_EMAIL (default admin@portico.local, must be in the users service's ADMIN_EMAILS),
 * DEMO_ADMIN_PASSWORD.
 */
import { PorticoError } from "@portico/client";
import pc from "picocolors";
import { runJourney } from "./demo/journey.js";

const gatewayUrl = process.env.GATEWAY_URL ?? "http://127.0.0.1:8080";
let count = 0;

try {
  await fetch(`${gatewayUrl}/healthz`);
} catch {
  console.error(pc.red(`No gateway answers at ${gatewayUrl}. Start the system first: npm start`));
  process.exit(1);
}

try {
  await runJourney({
    gatewayUrl,
    mailApiUrl: process.env.MAIL_API_URL ?? "http://127.0.0.1:8025",
    adminEmail: process.env.DEMO_ADMIN_EMAIL ?? "admin@portico.local",
    adminPassword: process.env.DEMO_ADMIN_PASSWORD ?? "portico-admin-password",
    onStep: (title, data) => {
      count += 1;
      console.log(`${pc.green("✔")} ${pc.bold(`${count}.`)} ${title}`);
      if (data !== undefined)
        console.log(pc.dim(JSON.stringify(data, null, 2).replace(/^/gm, "     ")));
    },
  });
  console.log(pc.green(`\nDemo complete: ${count} steps.`));
} catch (err) {
  const detail =
    err instanceof PorticoError
      ? `${err.status} ${JSON.stringify(err.problem, null, 2)}`
      : err instanceof Error
        ? err.message
        : String(err);
  console.error(pc.red(`✘ Demo failed at step ${count + 1}: ${detail}`));
  process.exit(1);
}
