/**
 * One benchmark = one file in bench/ exporting `benchmark: Benchmark`. `npm run bench` runs each,
 * and BENCHMARKS.md shows every figure as a ratio against a baseline measured in the same run, so
 * the numbers travel across machines. Tests never assert on these figures.
 */
export interface BenchContext {
  /** `--quick`: fewer iterations, for CI smoke runs. */
  quick: boolean;
  /** Unique suffix for topics/streams this run creates. */
  runId: string;
  log(msg: string): void;
}

export interface BenchResult {
  /** e.g. "Projections throughput". */
  name: string;
  /** What the baseline is, e.g. "raw kafkajs consume of the same topic". */
  baseline: string;
  baselineValue: number;
  subjectValue: number;
  unit: string; // e.g. "records/s", "ms p50"
  /** subject / baseline, or baseline / subject for lower-is-better units; say which in `note`. */
  ratio: number;
  higherIsBetter: boolean;
  note?: string;
}

export interface Benchmark {
  id: string;
  /** Components it needs up: the harness brings the stack up first when any is listed. */
  needs: Array<'kafka' | 'registry' | 'eventstore' | 'hsm'>;
  run(ctx: BenchContext): Promise<BenchResult[]>;
}
