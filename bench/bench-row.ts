/**
 * The row of bench/run.ts's report, which every scenario file fills: its own module because run.ts
 * imports the scenarios (a scenario importing the type from run.ts would make a cycle).
 */

/** One HTTP measurement: requests a second, latency percentiles in ms, failed requests. */
export interface HttpResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

/** A line of the report: one variant (or the ceiling) in one scenario. */
export interface BenchRow extends HttpResult {
  /** The variant's label, or the ceiling. */
  label: string;
  scenario: string;
  note?: string;
  /** More figures of the scenario, by name with their unit, for the comparison with the baseline. */
  figures?: Record<string, number>;
}
