import { loadConfig } from '../../core/config';
import { UnavailableError } from '../../core/errors';
import { replay, verify, type ReplayFilter } from '../../eventstore/audit';
import { breakLine, jsonLine, tableHeader, tableRow, verifySummary } from '../../eventstore/audit-format';
import { EsdbEventStore } from '../../eventstore/client';
import { has, parseArgs, str, UsageError } from '../args';

export const summary = 'event history (replay) and its tamper-evidence check (verify)';

const REPLAY_USAGE = 'foresight audit replay [--stream S | --category C] [--type T] [--since ISO] [--until ISO] [--json]';
const VERIFY_USAGE = 'foresight audit verify [--stream S | --category C | --all] [--json]';

export const help = `usage:
  ${REPLAY_USAGE}
  ${VERIFY_USAGE}

replay   prints the event history oldest first: a table, or one JSON object a line with --json.
         --stream S     one stream, e.g. credential-alice_vm-42
         --category C   every stream whose name starts with "C-" (credential, userkey, hsm, allocation)
         --type T       one event type, e.g. CredentialPreProvisioned
         --since/--until ISO times; the range is [since, until) on the event's time (when it
                        happened, from its metadata; else when it was stored)
verify   recomputes each stream's hash chain and prints "ok: N streams, M events verified", or
         the first break of every broken stream and exits 1. Default scope: --all.

Reads EVENTSTORE_CONNECTION_STRING (default: the local stack's event store).`;

function isoFlag(v: string | undefined, name: string, usage: string): Date | undefined {
  if (v === undefined) return undefined;
  const d = new Date(v);
  if (!/^\d{4}-\d{2}-\d{2}/.test(v) || Number.isNaN(d.getTime())) {
    throw new UsageError(`--${name} "${v}" is not an ISO time; use e.g. 2026-01-31 or 2026-01-31T12:00:00Z; usage: ${usage}`);
  }
  return d;
}

/** Hides user:password in a connection string before it is printed. */
export function safeConnectionString(cs: string): string {
  return cs.replace(/\/\/[^@/]*@/, '//***@');
}

/**
 * Stdout with back-pressure, so a long replay piped to a slow reader stays in constant memory;
 * a reader that goes away (`| head`) ends the replay quietly instead of crashing on EPIPE.
 */
function stdoutLines(): { write(line: string): Promise<boolean>; close(): void } {
  let gone = false;
  const onError = (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') gone = true;
    else throw err;
  };
  process.stdout.on('error', onError);
  return {
    async write(line) {
      if (gone) return false;
      if (!process.stdout.write(line + '\n')) {
        await new Promise<void>((r) => {
          const done = () => {
            process.stdout.off('drain', done);
            process.stdout.off('close', done);
            r();
          };
          process.stdout.on('drain', done);
          process.stdout.on('close', done);
        });
      }
      return !gone;
    },
    close: () => void process.stdout.off('error', onError),
  };
}

async function runReplay(argv: string[], store: EsdbEventStore): Promise<number> {
  const p = parseArgs(argv, { values: ['stream', 'category', 'type', 'since', 'until'], switches: ['json'] }, REPLAY_USAGE);
  if (p.positional.length) throw new UsageError(`unexpected argument "${p.positional[0]}"; usage: ${REPLAY_USAGE}`);
  const f: ReplayFilter = {
    stream: str(p, 'stream'),
    category: str(p, 'category'),
    type: str(p, 'type'),
    since: isoFlag(str(p, 'since'), 'since', REPLAY_USAGE),
    until: isoFlag(str(p, 'until'), 'until', REPLAY_USAGE),
  };
  if (f.stream !== undefined && f.category !== undefined) throw new UsageError(`give --stream or --category, not both; usage: ${REPLAY_USAGE}`);
  if (f.since && f.until && f.since >= f.until) throw new UsageError('--since must be before --until');
  const json = has(p, 'json');
  const out = stdoutLines();
  try {
    if (!json && !(await out.write(tableHeader()))) return 0;
    for await (const e of replay(store, f)) if (!(await out.write(json ? jsonLine(e) : tableRow(e)))) break;
  } finally {
    out.close();
  }
  return 0;
}

async function runVerify(argv: string[], store: EsdbEventStore): Promise<number> {
  const p = parseArgs(argv, { values: ['stream', 'category'], switches: ['all', 'json'] }, VERIFY_USAGE);
  if (p.positional.length) throw new UsageError(`unexpected argument "${p.positional[0]}"; usage: ${VERIFY_USAGE}`);
  const scopes = [str(p, 'stream') !== undefined, str(p, 'category') !== undefined, has(p, 'all')].filter(Boolean).length;
  if (scopes > 1) throw new UsageError(`give one of --stream, --category or --all; usage: ${VERIFY_USAGE}`);
  const report = await verify(store, { stream: str(p, 'stream'), category: str(p, 'category') });
  if (has(p, 'json')) {
    console.log(JSON.stringify({ ok: report.breaks.length === 0, ...report }));
  } else {
    for (const b of report.breaks) console.log(breakLine(b));
    console.log(verifySummary(report));
  }
  return report.breaks.length === 0 ? 0 : 1;
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'replay' && sub !== 'verify') {
    throw new UsageError(`${sub === undefined ? 'missing sub-command' : `unknown sub-command "${sub}"`}; use 'audit replay' or 'audit verify'`);
  }
  const cfg = loadConfig();
  const store = EsdbEventStore.connect(cfg.eventStore.connectionString);
  try {
    return sub === 'replay' ? await runReplay(rest, store) : await runVerify(rest, store);
  } catch (err) {
    if (err instanceof UnavailableError) {
      console.error(
        `foresight audit: cannot reach the event store at ${safeConnectionString(cfg.eventStore.connectionString)}; ` +
          `start the local stack with 'npx foresight stack up' or point EVENTSTORE_CONNECTION_STRING at a running one`,
      );
      return 1;
    }
    throw err;
  } finally {
    await store.close();
  }
}
