/**
 * `npm run reliability:report` — writes docs/reliability.md from the scenario records of the last
 * test run (`.data/reliability/*.json`, written by the fault tests through recordScenario).
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { repoRoot } from "../paths.js";
import { readScenarios, type ScenarioResult } from "./record.js";

const START = "<!-- reliability-table:start -->";
const END = "<!-- reliability-table:end -->";

/** The Markdown table of scenario results. */
export function renderTable(results: (ScenarioResult & { recordedAt: string })[]): string {
  const rows = results.map(
    (r) =>
      `| ${r.id} | ${r.scenario} | ${r.sent} | ${r.effects} | ${r.lost} | ${r.duplicated} | ${r.notes ?? ""} |`,
  );
  const newest =
    results
      .map((r) => r.recordedAt)
      .sort()
      .at(-1) ?? "never";
  return [
    `Last run: ${newest}`,
    "",
    "| | scenario | sent | effects | lost | duplicated | notes |",
    "|---|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

async function main(): Promise<void> {
  const path = join(repoRoot, "docs", "reliability.md");
  const doc = await readFile(path, "utf8");
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${path} has no ${START} … ${END} markers`);
  const table = renderTable(await readScenarios());
  await writeFile(path, `${doc.slice(0, start + START.length)}\n${table}\n${doc.slice(end)}`);
  console.log(`docs/reliability.md: ${table.split("\n").length - 4} scenarios`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
