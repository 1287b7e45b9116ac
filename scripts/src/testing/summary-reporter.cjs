// @ts-check
/**
 * A jest reporter that ends the run with one plain line, `Tests: N passed, N failed, N skipped`,
 * which CI systems that do not parse jest's own summary can read.
 */
class SummaryReporter {
  /** @param {unknown} _contexts @param {import('@jest/reporters').AggregatedResult} results */
  onRunComplete(_contexts, results) {
    const { numPassedTests, numFailedTests, numPendingTests, numTodoTests } = results;
    const suitesFailed = results.numFailedTestSuites + results.numRuntimeErrorTestSuites;
    process.stdout.write(
      `\nTests: ${numPassedTests} passed, ${numFailedTests + (numFailedTests === 0 && suitesFailed > 0 ? suitesFailed : 0)} failed, ${numPendingTests + numTodoTests} skipped\n`,
    );
  }
}

module.exports = SummaryReporter;
