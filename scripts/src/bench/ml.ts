/**
 * The ML service's rows of the benchmark (issue 5 point 6): `POST /ml/sentiment` on a
 * 500-character text, signed in as a user —
 * - directly to the system's ML service (one uvicorn worker, as `npm start` runs it; the goal is
 *   at least 500 requests per second through the service alone);
 * - directly to a second instance started here with two uvicorn workers (`WEB_CONCURRENCY=2`), to
 *   compare one worker with two on this machine (HTTP only: it is given no NATS);
 * - through the gateway (validation, auth and the proxy hop on top);
 * - directly, the longest texts the contract allows (issue 9, finding 1): 5,000 characters of prose
 *   against 5,000 emoji, the costliest text per character (each emoji becomes a description of up
 *   to six words for VADER); the emoji text took about 10 s before the service scored in linear
 *   time, in worker processes.
 * A hook run on the benchmark's running system after the other sections (see real-system.ts).
 */

import { join } from "node:path";
import { getFreePort } from "../infra/ports.js";
import { silentSink, spawnManaged, waitForProcessReady } from "../infra/process.js";
import { repoRoot } from "../paths.js";
import { pythonBin } from "../services/python-env.js";
import type { LoadTarget } from "./load.js";
import type { ExtraRow, SystemBenchContext } from "./real-system.js";
import { measure } from "./runner.js";

/** The ML service's folder (this benchmark measures that example service). */
const ML_DIR = join(repoRoot, "services", "ml");

/** The goal of issue 5 point 6, in requests per second. */
export const ML_GOAL_RPS = 500;

/** A 500-character review, as a customer might write one (English, mixed sentiment). */
export const REVIEW_500 = (() => {
  const sentence =
    "The espresso cup is lovely and the porcelain feels solid, but the handle is a bit small. ";
  const text = sentence.repeat(Math.ceil(500 / sentence.length)).slice(0, 500);
  if (text.length !== 500) throw new Error("the benchmark text must be 500 characters");
  return text;
})();

/** The longest text the contract allows (`SentimentText.maxLength`), in code points. */
export const MAX_TEXT_LENGTH = 5000;

/** 5,000 characters of prose: the review above, repeated. */
export const PROSE_5000 = REVIEW_500.repeat(MAX_TEXT_LENGTH / REVIEW_500.length);

/**
 * 5,000 emoji whose descriptions hold the most tokens and lexicon words (`😹` → "cat face with tears
 * of joy"), one of them with a contrastive "but" (`😥` → "sad but relieved face", which makes VADER
 * rescale every sentiment), in a fixed pseudo-random order (the Park–Miller "minimal standard"
 * generator), so that no run of them repeats: the worst-case input. The scorer keeps the valences
 * of the word windows it has seen, so the repeated requests measure its warm cost (the first such
 * text in a fresh scoring worker costs a little more; a mix of many more emoji, up to 3 times).
 */
export const WORST_CASE_EMOJI_5000 = (() => {
  const heavy = [..."😸😹😂😄😊🥰😙😥😱👌🈶😁🤣"];
  let state = 7;
  let text = "";
  for (let i = 0; i < MAX_TEXT_LENGTH; i++) {
    state = (state * 48_271) % 2_147_483_647;
    text += heavy[state % heavy.length];
  }
  if ([...text].length !== MAX_TEXT_LENGTH)
    throw new Error("the worst-case text must be 5,000 emoji");
  return text;
})();

/** `POST /ml/sentiment` with `text` (default: the 500-character review) at `baseUrl`, as `token`'s user. */
function sentimentTarget(baseUrl: string, token: string, text = REVIEW_500): LoadTarget {
  return {
    url: `${baseUrl}/ml/sentiment`,
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ text }),
  };
}

/**
 * Starts an ML service with `workers` uvicorn workers on a free port, verifying tokens with the
 * system's users service; resolves to its URL and a stop function.
 */
async function startMl(
  jwksUrl: string,
  workers: number,
): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await getFreePort();
  const proc = spawnManaged({
    name: `ml-${workers}-workers`,
    command: pythonBin(ML_DIR, "python"),
    args: ["-m", "app"],
    cwd: ML_DIR,
    env: {
      ...process.env,
      NODE_ENV: "production",
      HOST: "127.0.0.1",
      PORT: String(port),
      LOG_LEVEL: "warn",
      JWKS_URL: jwksUrl,
      // Nothing listens there: this instance serves HTTP only (it would otherwise also consume).
      NATS_URL: `nats://127.0.0.1:${await getFreePort()}`,
      WEB_CONCURRENCY: String(workers),
    },
    log: silentSink,
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForProcessReady(proc, `${url}/healthz`, 30_000);
  } catch (error) {
    await proc.stop();
    throw error;
  }
  return { url, stop: async () => void (await proc.stop(10_000)) };
}

/** Measures the ML service's rows on the running system. */
export async function benchMl(context: SystemBenchContext): Promise<ExtraRow[]> {
  const { system, user, settings } = context;
  const ml = system.urls.byProcess.ml;
  if (!ml) return [{ label: "POST /ml/sentiment", note: "the system runs no ML service" }];
  const rows: ExtraRow[] = [];

  const oneWorker = await measure(
    settings,
    "(ml) POST /ml/sentiment direct, 1 worker",
    sentimentTarget(ml, user.token),
  );
  rows.push({
    label: `POST /ml/sentiment, 500-character text, direct to ml (1 uvicorn worker; goal ≥ ${ML_GOAL_RPS} req/s: ${oneWorker.requestsPerSecond >= ML_GOAL_RPS ? "met" : "not met"})`,
    result: oneWorker,
  });

  try {
    const twoWorkers = await startMl(`${system.urls.byService.users}/.well-known/jwks.json`, 2);
    try {
      const result = await measure(
        settings,
        "(ml) POST /ml/sentiment direct, 2 workers",
        sentimentTarget(twoWorkers.url, user.token),
      );
      rows.push({
        label: "POST /ml/sentiment, 500-character text, direct to ml (2 uvicorn workers)",
        result,
      });
    } finally {
      await twoWorkers.stop();
    }
  } catch (error) {
    rows.push({
      label: "POST /ml/sentiment direct, 2 uvicorn workers",
      note: `not measured: ${(error as Error).message}`,
    });
  }

  for (const [label, text] of [
    ["5,000 characters of prose", PROSE_5000],
    ["5,000 emoji (worst case)", WORST_CASE_EMOJI_5000],
  ] as const) {
    rows.push({
      label: `POST /ml/sentiment, ${label}, direct to ml (1 uvicorn worker)`,
      result: await measure(
        settings,
        `(ml) POST /ml/sentiment direct, ${label}`,
        sentimentTarget(ml, user.token, text),
      ),
    });
  }

  rows.push({
    label: "POST /ml/sentiment, 500-character text, through the gateway",
    result: await measure(
      settings,
      "(ml) POST /ml/sentiment through the gateway",
      sentimentTarget(system.urls.gateway, user.token),
    ),
  });
  return rows;
}
