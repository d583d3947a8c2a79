import { loadConfig } from '../../core/config';
import { down, layout } from '../../stack';
import { dropLease, otherLiveLeases } from './leases';

/**
 * Stops what this run's globalSetup started, unless FORESIGHT_KEEP_STACK=1 or another jest run
 * still uses the stack. A stack that was already running is left running.
 */
export default async function globalTeardown(): Promise<void> {
  const cfg = loadConfig();
  const run = layout(cfg).run;
  const lease = dropLease(run);
  if (!lease?.started.length) return;
  if (process.env.FORESIGHT_KEEP_STACK === '1') return;
  const others = otherLiveLeases(run);
  if (others.length) {
    process.stderr.write(`[stack] left running: jest run(s) ${others.join(', ')} still use it\n`);
    return;
  }
  await down(cfg, { only: lease.started }, (line) => process.stderr.write(`[stack] ${line}\n`));
}
