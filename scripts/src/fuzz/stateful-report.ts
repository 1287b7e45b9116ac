/**
 * What Schemathesis's stateful phase did in one pass, read from its NDJSON event report
 * (`--report ndjson`: one JSON object per line, `{"<EventName>": {...}}`; a `ScenarioFinished`
 * event of phase `stateful` carries the scenario's recorder with every case it sent, keyed by case
 * id, and for each case the OpenAPI link it came through, if any).
 */
import { readFile } from "node:fs/promises";

/** Counts of one pass's stateful phase. */
export interface StatefulSummary {
  /** Scenarios (sequences of calls) that sent at least one request. */
  scenarios: number;
  /** Requests sent in those scenarios. */
  steps: number;
  /** Requests whose parameters or body came from an earlier response through a link. */
  linkedSteps: number;
  /** Distinct links followed that the contracts declare (not inferred by Schemathesis). */
  declaredLinks: string[];
  /** Distinct links followed that Schemathesis inferred. */
  inferredLinks: number;
}

interface RecordedCase {
  transition?: { id: string; is_inferred?: boolean };
  is_transition_applied?: boolean;
}

interface ScenarioFinished {
  phase?: string;
  recorder?: { cases?: Record<string, RecordedCase> };
}

/**
 * Reads the NDJSON report at `path` and counts the stateful phase's scenarios and requests.
 * @throws when the file cannot be read or a line is not JSON.
 */
export async function summarizeStatefulPhase(path: string): Promise<StatefulSummary> {
  const summary: StatefulSummary = {
    scenarios: 0,
    steps: 0,
    linkedSteps: 0,
    declaredLinks: [],
    inferredLinks: 0,
  };
  const declared = new Set<string>();
  const inferred = new Set<string>();
  for (const line of (await readFile(path, "utf8")).split("\n")) {
    if (!line.startsWith('{"ScenarioFinished"')) continue;
    const event = (JSON.parse(line) as { ScenarioFinished: ScenarioFinished }).ScenarioFinished;
    const cases = Object.values(event.recorder?.cases ?? {});
    if (event.phase !== "stateful" || cases.length === 0) continue;
    summary.scenarios += 1;
    summary.steps += cases.length;
    for (const step of cases) {
      if (!step.transition || !step.is_transition_applied) continue;
      summary.linkedSteps += 1;
      (step.transition.is_inferred ? inferred : declared).add(step.transition.id);
    }
  }
  summary.declaredLinks = [...declared].sort();
  summary.inferredLinks = inferred.size;
  return summary;
}

/** One line for the run's output, e.g. `37 scenarios, 210 requests (120 through links; …)`. */
export function describeStatefulSummary(summary: StatefulSummary): string {
  return (
    `${summary.scenarios} scenarios, ${summary.steps} requests (${summary.linkedSteps} through links; ` +
    `${summary.declaredLinks.length} declared and ${summary.inferredLinks} inferred links followed)`
  );
}
