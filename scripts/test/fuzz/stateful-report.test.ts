import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { describeStatefulSummary, summarizeStatefulPhase } from "../../src/fuzz/stateful-report.js";

/** A `ScenarioFinished` event line as Schemathesis 4.32 writes it to its NDJSON report. */
function scenario(phase: string, cases: Record<string, unknown>): string {
  return JSON.stringify({
    ScenarioFinished: { phase, status: "success", recorder: { label: "x", cases } },
  });
}

const created = { value: { method: "POST", path: "/things" } };
const declared = {
  transition: {
    id: "POST /things -> [201] GetCreatedThing -> GET /things/{id}",
    is_inferred: false,
  },
  is_transition_applied: true,
};
const inferred = {
  transition: { id: "POST /things -> [201] DeleteThing -> DELETE /things/{id}", is_inferred: true },
  is_transition_applied: true,
};
const notApplied = {
  transition: { id: "POST /things -> [201] Other -> GET /x" },
  is_transition_applied: false,
};

describe("summarizeStatefulPhase", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "stateful-report-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("counts the stateful phase's scenarios, requests and links, and nothing of other phases", async () => {
    const path = join(dir, "events.ndjson");
    await writeFile(
      path,
      [
        JSON.stringify({ PhaseStarted: { phase: { name: "stateful" } } }),
        scenario("fuzzing", { a: created }),
        scenario("stateful", { a: created, b: declared, c: inferred }),
        scenario("stateful", { d: created, e: declared, f: notApplied }),
        scenario("stateful", {}),
        "",
      ].join("\n"),
    );
    const summary = await summarizeStatefulPhase(path);
    expect(summary).toEqual({
      scenarios: 2,
      steps: 6,
      linkedSteps: 3,
      declaredLinks: [declared.transition.id],
      inferredLinks: 1,
    });
    expect(describeStatefulSummary(summary)).toBe(
      "2 scenarios, 6 requests (3 through links; 1 declared and 1 inferred links followed)",
    );
  });
});
