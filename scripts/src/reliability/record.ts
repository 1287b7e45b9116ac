/**
 * Results of the reliability (fault) scenarios: each scenario records what it sent and what it
 * observed; `npm run reliability:report` turns the records of the last run into the table in
 * docs/reliability.md.
 */
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { dataRoot } from "../paths.js";

/** Where scenario records are written (one JSON file per scenario). */
export const RELIABILITY_DIR = join(dataRoot, "reliability");

/** The outcome of one fault scenario. Counts are of events (or scheduled ticks for jobs). */
export interface ScenarioResult {
  /** Short id, e.g. `a`, with the scenario's one-line description. */
  id: string;
  scenario: string;
  /** Events (or ticks) the scenario caused. */
  sent: number;
  /** Effects observed at the end (notifications, emails, rows, job runs). */
  effects: number;
  /** Effects expected but missing. */
  lost: number;
  /** Effects observed more than once. */
  duplicated: number;
  /** Free-form detail (which faults were injected, timings in ms). */
  notes?: string;
}

/**
 * Records a scenario's result for the report. Call it before asserting, so a failing run still
 * leaves its numbers.
 */
export async function recordScenario(result: ScenarioResult): Promise<void> {
  await mkdir(RELIABILITY_DIR, { recursive: true });
  const record = { ...result, recordedAt: new Date().toISOString() };
  await writeFile(
    join(RELIABILITY_DIR, `${result.id}.json`),
    `${JSON.stringify(record, null, 2)}\n`,
  );
}

/** Every recorded scenario, ordered by id. */
export async function readScenarios(): Promise<(ScenarioResult & { recordedAt: string })[]> {
  const files = (await readdir(RELIABILITY_DIR).catch(() => [])).filter((f) => f.endsWith(".json"));
  const records = await Promise.all(
    files.map(async (f) => JSON.parse(await readFile(join(RELIABILITY_DIR, f), "utf8"))),
  );
  return records.sort((a, b) => a.id.localeCompare(b.id));
}
