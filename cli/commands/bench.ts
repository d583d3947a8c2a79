import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig, projectRoot } from '../../core/config';
import { ensureLocalStack, renderMarkdown, runBenchmarks } from '../../bench/harness';
import { has, parseArgs, str, UsageError } from '../args';

export const summary = 'the benchmarks, as ratios against a baseline measured in the same run';

const USAGE = 'foresight bench [--quick] [--json] [--only ID[,ID...]] [--out FILE]';

export const help = `usage: ${USAGE}

Runs every benchmark in bench/ (bringing the local stack up if one needs it) and writes
BENCHMARKS.md: per figure the baseline, both values and their ratio, with the machine's cores
and memory and the date. A benchmark that fails is listed as failed; the others still run.

  --quick        fewer iterations (CI smoke runs); rougher figures
  --json         also print the whole report as JSON on stdout
  --only IDS     comma-separated benchmark ids (or bench/ file names) to run
  --out FILE     where to write the table (default BENCHMARKS.md in the checkout)

Exit code 1 when any benchmark failed.`;

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: ['only', 'out'], switches: ['quick', 'json'] }, USAGE);
  if (args.positional.length) throw new UsageError(`unexpected argument "${args.positional[0]}"; usage: ${USAGE}`);
  const only = str(args, 'only')?.split(',').map((s) => s.trim()).filter(Boolean);
  const out = path.resolve(str(args, 'out') ?? path.join(projectRoot(), 'BENCHMARKS.md'));
  const cfg = loadConfig();
  const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);
  const report = await runBenchmarks({ quick: has(args, 'quick'), only, log, ensureStack: (needs) => ensureLocalStack(cfg, needs, log) });
  if (only && report.benchmarks.length === 0) throw new UsageError(`--only ${only.join(',')}: no such benchmark in bench/`);
  fs.writeFileSync(out, renderMarkdown(report));
  log(`wrote ${out}`);
  if (has(args, 'json')) console.log(JSON.stringify(report, null, 2));
  const failed = report.benchmarks.filter((b) => !b.ok);
  for (const f of failed) log(`${f.id} failed: ${f.error}`);
  return failed.length ? 1 : 0;
}
