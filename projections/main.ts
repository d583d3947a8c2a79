/**
 * Runs the projections role as a process of its own: `tsx projections/main.ts [--namespace N]
 * [--group G] [--instance I] [--idle-ms MS] [--report-ms MS]`. The crash tests kill this process
 * at random points; `run --role projections` can call startProjections directly instead.
 * With --report-ms, prints its counters as one JSON line that often (stdout), for tests.
 */
import { parseArgs, str } from '../cli/args';
import { loadConfig } from '../core/config';
import { createLogger } from '../core/log';
import { onShutdownSignals } from '../streams';
import { startProjections } from './role';

const USAGE = 'tsx projections/main.ts [--namespace N] [--group G] [--instance I] [--idle-ms MS] [--report-ms MS]';

function num(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} ${v} is not a non-negative number; usage: ${USAGE}`);
  return n;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), { values: ['namespace', 'group', 'instance', 'idle-ms', 'report-ms'] }, USAGE);
  const log = createLogger({ process: 'projections' });
  const role = await startProjections({
    config: loadConfig(),
    namespace: str(args, 'namespace'),
    groupId: str(args, 'group'),
    instanceId: str(args, 'instance'),
    idleMs: num(str(args, 'idle-ms'), 'idle-ms'),
    log,
  });
  const every = num(str(args, 'report-ms'), 'report-ms');
  const timer = every ? setInterval(() => process.stdout.write(JSON.stringify(role.counters()) + '\n'), every) : undefined;
  onShutdownSignals([async () => (timer && clearInterval(timer), role.stop())], { log });
  await role.finished;
}

main().catch((err) => {
  process.stderr.write(`projections: ${(err as Error).message}\n`);
  process.exit(1);
});
