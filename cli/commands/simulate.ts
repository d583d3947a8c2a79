import * as fs from 'node:fs';
import { UsageError, has, int, parseArgs, str } from '../args';
import { writeJsonl } from '../../models/jsonl';
import { simulate } from '../../models/sim/simulate';
import { truthPath } from '../../models/sim/truth';

export const summary = 'realistic synthetic telemetry, reproducible by seed';

const usage =
  'foresight simulate --users N --vms M --networks K --days D [--seed S] [--start ISO] [--interval-minutes I] (--out FILE.jsonl | --publish [--speedup X])';

export const help = `usage: ${usage}

Simulates users (office hours, rotating shifts, on-call bursts, roaming, holidays, absences,
drift), VMs with lifecycles, scheduled jobs that need credentials, and client networks with
daily and weekly cycles, growth and attacks, on the five telemetry topics.

  --users N --vms M --networks K --days D   size of the simulation
  --seed S              same seed, same records (default 1)
  --start ISO           first simulated midnight, UTC (default 2026-01-05, a Monday)
  --interval-minutes I  network measurement interval (default 5)
  --out FILE.jsonl      write JSON lines {"topic","key","value"}, in event-time order; '-' for
                        stdout. The attacks (ground truth for 'evaluate') go to FILE.truth.json.
  --publish             publish to Kafka as Avro instead, through the streams producer
  --speedup X           with --publish: replay X times faster than event time (default: as
                        fast as possible)
  --namespace NS        with --publish: topics are NS.<topic> (tests, side-by-side demos)

Kafka and the schema registry come from KAFKA_BROKERS and SCHEMA_REGISTRY_URL (CONTRACT.md).`;

export async function run(argv: string[]): Promise<number> {
  const p = parseArgs(argv, { values: ['users', 'vms', 'networks', 'days', 'seed', 'start', 'interval-minutes', 'out', 'speedup', 'namespace'], switches: ['publish'] }, usage);
  if (p.positional.length) throw new UsageError(`unexpected argument "${p.positional[0]}"; usage: ${usage}`);
  const users = int(p, 'users', usage, undefined, 1);
  const vms = int(p, 'vms', usage, undefined, 1);
  const networks = int(p, 'networks', usage, undefined, 0);
  const days = int(p, 'days', usage, undefined, 1);
  const seed = int(p, 'seed', usage, 1, 0);
  const interval = int(p, 'interval-minutes', usage, 5, 1);
  const startRaw = str(p, 'start');
  const start = startRaw === undefined ? undefined : Date.parse(startRaw);
  if (start !== undefined && (!Number.isFinite(start) || start % 86_400_000 !== 0)) {
    throw new UsageError(`--start must be an ISO date at midnight UTC, e.g. 2026-01-05, got "${startRaw}"`);
  }
  const out = str(p, 'out');
  const publish = has(p, 'publish');
  if (!out === !publish) throw new UsageError(`give exactly one of --out FILE.jsonl or --publish; usage: ${usage}`);
  const speedupRaw = str(p, 'speedup');
  const speedup = speedupRaw === undefined ? undefined : Number(speedupRaw);
  if (speedup !== undefined && !(speedup > 0)) throw new UsageError(`--speedup must be a positive number, got "${speedupRaw}"`);
  if (speedup !== undefined && !publish) throw new UsageError('--speedup applies only with --publish');

  const result = simulate({ users, vms, networks, days, seed, start, networkIntervalMs: interval * 60_000 });
  if (out) {
    const n = writeJsonl(out, result.records);
    if (out !== '-') {
      fs.writeFileSync(truthPath(out), JSON.stringify(result.truth, null, 1) + '\n');
      console.error(`wrote ${n} records to ${out} (${result.truth.attacks.length} attacks in ${truthPath(out)})`);
    }
    return 0;
  }
  const { publishRecords } = await import('../../models/sim/publish');
  const sent = await publishRecords(result.records, { speedup, namespace: str(p, 'namespace') });
  console.error(`published ${sent} records`);
  return 0;
}
