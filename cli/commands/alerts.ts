import { loadConfig } from '../../core/config';
import { ForesightError, InvalidInputError, isRetriable } from '../../core/errors';
import { TOPICS, type AdminAlert, type Topic, type TopicRecords, type UserNotification } from '../../schemas';
import { BadRecordError, createSerde, physicalTopic, readTopic, type RawMessage } from '../../streams';
import { has, int, parseArgs, str, UsageError } from '../args';

export const summary = 'alerts tail: reads alerts.admin (or notifications.user) as readable lines or JSON';

const USAGE = 'foresight alerts tail [--topic T] [--from-beginning] [--json] [--max N] [--timeout S] [--namespace NS]';

export const help = `usage: ${USAGE}

Prints the records of alerts.admin (default) or notifications.user as they arrive, one readable
line each, or with --json one JSON object a line ({"topic","key","value","partition","offset"},
the JSON-lines format 'publish' reads). Follows until Ctrl-C unless --max or --timeout stops it.

  --topic T          alerts.admin (default) or notifications.user (any contract topic works;
                     <topic>.dlq and <topic>.late show refused records: reason, source, size)
  --from-beginning   start at the oldest record still kept, not at new ones
  --json             one JSON object a line
  --max N            stop after N records
  --timeout S        stop after S seconds
  --namespace NS     read NS.<topic> (what 'publish --namespace NS' wrote)

Records that cannot be decoded are reported on stderr with their offset and skipped.
Reads KAFKA_BROKERS and SCHEMA_REGISTRY_URL (default: the local stack).`;

const iso = (ms: number | null): string => (ms === null ? '-' : Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : String(ms));

/** One readable line per record; the shape depends on the topic. */
export function formatLine(topic: Topic, key: string | null, value: TopicRecords[Topic]): string {
  if (topic === 'alerts.admin') {
    const a = value as AdminAlert;
    const details = Object.entries(a.details ?? {}).map(([k, v]) => `${k}=${v}`).join(' ');
    return `${iso(a.timestamp)} ${a.severity.padEnd(8)} ${a.kind} [${a.subject}] ${a.message}${details ? `  (${details})` : ''}`;
  }
  if (topic === 'notifications.user') {
    const n = value as UserNotification;
    const when = n.scheduledFor !== null ? ` (at ${iso(n.scheduledFor)})` : '';
    return `${iso(n.timestamp)} ${n.kind} user=${n.userId}${n.vmId ? ` vm=${n.vmId}` : ''}: ${n.message}${when}`;
  }
  return `${iso(value.timestamp)} ${key ?? '-'} ${JSON.stringify(value)}`;
}

/** A `.dlq`/`.late` record: its bytes are not decodable by definition, so show why and where from. */
export function refusedLine(side: 'dlq' | 'late', m: RawMessage): string {
  const h = m.headers;
  const why = side === 'dlq' ? `${h['dlq.reason'] ?? '?'}${h['dlq.detail'] ? `: ${h['dlq.detail']}` : ''}` : (h['late.reason'] ?? 'late');
  const src = `${h[`${side}.source.topic`] ?? '?'}[${h[`${side}.source.partition`] ?? '?'}]@${h[`${side}.source.offset`] ?? '?'}`;
  return `${iso(m.timestamp)} offset ${m.offset} key=${m.key ?? '-'} ${why} (from ${src}, ${m.value?.length ?? 0} bytes)`;
}

function refusedJson(m: RawMessage): object {
  return { topic: m.topic, partition: m.partition, offset: Number(m.offset), key: m.key, headers: m.headers, valueBase64: m.value?.toString('base64') ?? null };
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: ['topic', 'max', 'timeout', 'namespace'], switches: ['from-beginning', 'json'] }, USAGE);
  const [sub, ...extra] = args.positional;
  if (sub !== 'tail') throw new UsageError(sub ? `unknown subcommand "${sub}"; usage: ${USAGE}` : `say what to do; usage: ${USAGE}`);
  if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"; usage: ${USAGE}`);
  const asked = str(args, 'topic') ?? 'alerts.admin';
  const side = /\.(dlq|late)$/.exec(asked)?.[1] as 'dlq' | 'late' | undefined;
  const topic = (side ? asked.slice(0, -side.length - 1) : asked) as Topic;
  if (!TOPICS.includes(topic)) throw new UsageError(`--topic ${asked} is not a topic; use alerts.admin or notifications.user`);
  const max = str(args, 'max') !== undefined ? int(args, 'max', USAGE, undefined, 1) : undefined;
  const timeout = str(args, 'timeout') !== undefined ? int(args, 'timeout', USAGE, undefined, 1) : undefined;
  const namespace = str(args, 'namespace');
  const json = has(args, 'json');

  const cfg = loadConfig();
  const serde = createSerde({ registryUrl: cfg.schemaRegistry.url });
  const physical = physicalTopic(topic, namespace) + (side ? `.${side}` : '');
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // A reader that goes away (`| head`) ends the tail quietly.
  const onPipeError = (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' ? abort.abort() : undefined);
  process.stdout.on('error', onPipeError);
  let printed = 0;
  let failure: unknown;
  const print = async (m: RawMessage): Promise<boolean> => {
    if (side) {
      if (abort.signal.aborted) return false;
      process.stdout.write((json ? JSON.stringify(refusedJson(m)) : refusedLine(side, m)) + '\n');
      printed++;
      return max === undefined || printed < max;
    }
    try {
      const { value } = await serde.decode(topic, m.value);
      if (abort.signal.aborted) return false;
      const line = json ? JSON.stringify({ topic, key: m.key, value, partition: m.partition, offset: Number(m.offset) }) : formatLine(topic, m.key, value);
      process.stdout.write(line + '\n');
      printed++;
    } catch (err) {
      if (err instanceof BadRecordError) console.error(`${physical} partition ${m.partition} offset ${m.offset}: cannot decode (${err.reason}: ${err.detail}); skipped`);
      else if (isRetriable(err)) {
        failure = err;
        return false;
      } else throw err;
    }
    return max === undefined || printed < max;
  };
  try {
    await readTopic(cfg.kafka, physical, { fromBeginning: has(args, 'from-beginning'), timeoutMs: timeout !== undefined ? timeout * 1000 : undefined, signal: abort.signal, onMessage: print });
  } catch (err) {
    if (err instanceof InvalidInputError) throw new ForesightError('NO_TOPIC', `${err.message}; it is created by 'foresight run' (or 'foresight publish' to it)`);
    throw new ForesightError('UNAVAILABLE', `${(err as Error).message}. Is the stack up? Run 'npx foresight stack up', or set KAFKA_BROKERS`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.stdout.off('error', onPipeError);
  }
  if (failure) throw new ForesightError('UNAVAILABLE', `${(failure as Error).message}. Is the schema registry up? Run 'npx foresight stack up', or set SCHEMA_REGISTRY_URL`);
  return 0;
}
