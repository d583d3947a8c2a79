import { loadConfig } from '../../core/config';
import { runDemo } from '../../demo/run-demo';
import { exitSoon } from '../../roles/runner';
import { UsageError, has, int, parseArgs, str } from '../args';

export const summary = 'the whole pipeline on the local stack, live, with a summary at the end';

const usage =
  'foresight demo [--minutes M] [--hours H] [--users N] [--vms N] [--networks N] [--seed S] [--from-hour 0-23] [--warmup-days D] [--threshold P] [--api-port N] [--follow]';

export const help = `usage: ${usage}

Brings the local stack up, creates the topics and schemas (under a fresh namespace, demo-r<run>),
trains a small model if none is cached (FORESIGHT_HOME/models), starts every role in this
process on one simulated clock, replays simulated telemetry and sends the users' access requests
to the delivery API over mutual TLS at their simulated time, and shows live progress: telemetry
in, features, risk events, pre-provisioned credentials, hits and misses with latency, HSM
forecasts and allocations, alerts. Ends with a summary and where to look next. Ctrl-C stops the
roles cleanly (in-flight work finishes and commits); the stack keeps running
('npx foresight stack down' stops it).

  --minutes M     wall minutes of the live replay (default 2)
  --hours H       simulated hours replayed in them (default 12, from --from-hour)
  --from-hour H   simulated hour of day the live replay starts (default 6)
  --users N --vms N --networks N   size of the simulated organisation (default 25, 15, 3)
  --seed S        simulation seed (default 1)
  --warmup-days D simulated days of history published first, as fast as possible (default 1)
  --threshold P   the demo's pre-provisioning threshold on the PT8H score (default 0.3;
                  FORESIGHT_CREDENTIALS_POLICY, when set, wins)
  --api-port N    the delivery API's port (default FORESIGHT_API_PORT, else 8443; 0: any free)
  --follow        keep replaying (six simulated days) and keep running until Ctrl-C

Logs (JSON lines, with each request's correlation id) go to FORESIGHT_HOME/logs/demo-r<run>.log.`;

export async function run(argv: string[]): Promise<number> {
  const p = parseArgs(argv, { values: ['minutes', 'hours', 'users', 'vms', 'networks', 'seed', 'from-hour', 'warmup-days', 'threshold', 'api-port'], switches: ['follow'] }, usage);
  if (p.positional.length) throw new UsageError(`unexpected argument "${p.positional[0]}"; usage: ${usage}`);
  const follow = has(p, 'follow');
  const num = (name: string, dflt: number, min: number): number => {
    const raw = str(p, name);
    if (raw === undefined) return dflt;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min) throw new UsageError(`--${name} must be a number >= ${min}, got "${raw}"`);
    return n;
  };
  const minutesGiven = str(p, 'minutes') !== undefined;
  let hours = num('hours', 12, 0.25);
  let minutes = num('minutes', 2, 0.1);
  if (follow && str(p, 'hours') === undefined) {
    // Same pace as the bounded default, over six days.
    const pace = hours / minutes;
    hours = 6 * 24;
    if (!minutesGiven) minutes = hours / pace;
  }
  const fromHour = int(p, 'from-hour', usage, 6, 0);
  if (fromHour > 23) throw new UsageError(`--from-hour must be 0-23, got ${fromHour}`);
  const threshold = num('threshold', 0.3, 0);
  if (threshold > 1) throw new UsageError(`--threshold must be between 0 and 1, got ${threshold}`);
  const apiPortRaw = str(p, 'api-port');
  const r = await runDemo(loadConfig(), {
    users: int(p, 'users', usage, 25, 1),
    vms: int(p, 'vms', usage, 15, 1),
    networks: int(p, 'networks', usage, 3, 0),
    seed: int(p, 'seed', usage, 1, 0),
    minutes,
    hours,
    fromHour,
    warmupDays: int(p, 'warmup-days', usage, 1, 0),
    follow,
    threshold,
    apiPort: apiPortRaw === undefined ? undefined : int(p, 'api-port', usage, 0, 0),
  });
  const code = r.results.length && r.results.every((x) => x.error) ? 1 : 0;
  exitSoon(code);
  return code;
}

