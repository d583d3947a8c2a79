import * as fs from 'node:fs';
import * as readline from 'node:readline';
import { loadConfig } from '../../core/config';
import { ForesightError, InvalidInputError, isRetriable } from '../../core/errors';
import { TOPICS, type Topic } from '../../schemas';
import { checkLine, createProducer, createSerde, ensureStreams, physicalTopic, replayDlq, type CheckedLine, type LineCheckOptions } from '../../streams';
import { has, parseArgs, str, UsageError } from '../args';

export const summary = 'JSON lines in, Avro records out to Kafka, checked against the registered schemas first';

const USAGE = 'foresight publish --file FILE.jsonl [--topic T] [--dry-run] [--json] [--namespace NS]';
const DLQ_USAGE = 'foresight publish --from-dlq --topic T [--reason R] [--dry-run] [--json] [--namespace NS]';

export const help = `usage: ${USAGE}
       ${DLQ_USAGE}

Reads one record a line: {"topic": "<topic>", "key": "<key>", "value": {...fields of the topic's schema...}}
(the format of 'simulate --out' and 'alerts tail --json'). Every line is checked first, against
its topic's Avro schema (schemas/<topic>.avsc) and the semantic rules (ids present, timestamps
plausible, probabilities in 0..1); if any line fails, each bad line is reported by number and
nothing is sent. Then the records are sent in file order, Avro in the Confluent wire format under
the subject <topic>-value (registered with BACKWARD compatibility if new), and a summary says
what was sent: records per topic and the schema id used.

  --file FILE    the JSON-lines file ('-' reads stdin)
  --topic T      send only the lines of topic T (lines without "topic" are taken to be of T);
                 other lines are skipped and counted
  --dry-run      check only; send nothing
  --json         print the summary as one JSON object
  --namespace NS send to NS.<topic> instead of <topic> (separate runs, tests, demos)

--from-dlq sends the records of <T>.dlq back to T unchanged (after fixing what refused them:
the schema, a producer), optionally only those with dlq.reason R; records still bad return
to the DLQ. Consumers are idempotent by eventId, so a second replay repeats nothing downstream.

topics: ${TOPICS.join(', ')}
Reads KAFKA_BROKERS and SCHEMA_REGISTRY_URL (default: the local stack).`;

const MAX_REPORTED = 20;
const CHUNK = 500;

async function* lines(file: string): AsyncGenerator<[number, string]> {
  const input = file === '-' ? process.stdin : fs.createReadStream(file, { encoding: 'utf8' });
  let n = 0;
  for await (const text of readline.createInterface({ input, crlfDelay: Infinity })) yield [++n, text];
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: ['file', 'topic', 'namespace', 'reason'], switches: ['dry-run', 'json', 'from-dlq'] }, USAGE);
  if (args.positional.length) throw new UsageError(`unexpected argument "${args.positional[0]}"; usage: ${USAGE}`);
  if (has(args, 'from-dlq')) return fromDlq(args);
  if (str(args, 'reason') !== undefined) throw new UsageError(`--reason goes with --from-dlq; usage: ${DLQ_USAGE}`);
  const file = str(args, 'file');
  if (!file) throw new UsageError(`--file is required; usage: ${USAGE}`);
  if (file !== '-' && !fs.existsSync(file)) throw new UsageError(`--file ${file}: no such file`);
  const onlyTopic = str(args, 'topic');
  if (onlyTopic !== undefined && !TOPICS.includes(onlyTopic as Topic)) throw new UsageError(`--topic ${onlyTopic} is not a topic; use one of ${TOPICS.join(', ')}`);
  if (file === '-' && !has(args, 'dry-run')) {
    // stdin cannot be read twice (check, then send): keep it in memory.
    const text = fs.readFileSync(0, 'utf8');
    const tmp = `${loadConfig().home}/publish-stdin-${process.pid}.jsonl`;
    fs.mkdirSync(loadConfig().home, { recursive: true });
    fs.writeFileSync(tmp, text);
    try {
      return await publish(tmp, onlyTopic as Topic | undefined, args);
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }
  return publish(file, onlyTopic as Topic | undefined, args);
}

async function publish(file: string, onlyTopic: Topic | undefined, args: ReturnType<typeof parseArgs>): Promise<number> {
  const cfg = loadConfig();
  const namespace = namespaceOf(args);
  const serde = createSerde({ registryUrl: cfg.schemaRegistry.url });
  const opts: LineCheckOptions = { onlyTopic, now: Date.now(), readerType: (t) => serde.readerType(t) };

  // Pass 1: check every line, send nothing.
  const problems: string[] = [];
  let bad = 0;
  let skipped = 0;
  const perTopic = new Map<Topic, number>();
  for await (const [n, text] of lines(file)) {
    const r = checkLine(text, n, opts);
    if ('problem' in r) {
      if (++bad <= MAX_REPORTED) problems.push(`line ${n}: ${r.problem}`);
    } else if ('skip' in r) {
      if (text.trim() !== '') skipped++;
    } else perTopic.set(r.ok.topic, (perTopic.get(r.ok.topic) ?? 0) + 1);
  }
  if (bad) {
    for (const p of problems) console.error(p);
    if (bad > MAX_REPORTED) console.error(`... and ${bad - MAX_REPORTED} more bad lines`);
    console.error(`foresight publish: ${bad} bad line(s) in ${file}; nothing was sent. Fix them (or drop them) and run again.`);
    return 1;
  }
  const total = [...perTopic.values()].reduce((a, b) => a + b, 0);
  const topics = [...perTopic.keys()];
  if (has(args, 'dry-run') || total === 0) {
    report(args, { sent: 0, checked: total, skipped, perTopic, schemaIds: new Map(), dryRun: true });
    return 0;
  }

  // Pass 2: send in file order, in chunks; on failure say exactly which lines were sent.
  let schemaIds: Map<Topic, number>;
  try {
    ({ schemaIds } = await ensureStreams(cfg, { topics, namespace, retries: 1 }));
  } catch (err) {
    throw unreachable(err);
  }
  const producer = createProducer({ kafka: cfg.kafka, registryUrl: cfg.schemaRegistry.url, serde, namespace, clientId: 'foresight-publish' });
  let sent = 0;
  let lastLine = 0;
  try {
    await producer.connect().catch((err) => {
      throw unreachable(err);
    });
    let chunk: CheckedLine[] = [];
    const flush = async () => {
      const byTopic = new Map<Topic, CheckedLine[]>();
      for (const c of chunk) (byTopic.get(c.topic) ?? byTopic.set(c.topic, []).get(c.topic)!).push(c);
      for (const [t, cs] of byTopic) await producer.send(t, cs.map((c) => ({ key: c.key, value: c.value })));
      sent += chunk.length;
      lastLine = chunk[chunk.length - 1].line;
      chunk = [];
    };
    try {
      for await (const [n, text] of lines(file)) {
        const r = checkLine(text, n, opts);
        if ('ok' in r) chunk.push(r.ok);
        if (chunk.length >= CHUNK) await flush();
      }
      if (chunk.length) await flush();
    } catch (err) {
      const where = sent ? `${sent} records (every line up to line ${lastLine}) were sent` : 'nothing was sent';
      throw new ForesightError('PUBLISH', `${where}; then: ${(err as Error).message}. Fix the cause and publish the rest (lines after ${lastLine}).`);
    }
  } finally {
    await producer.disconnect();
  }
  report(args, { sent, checked: total, skipped, perTopic, schemaIds, dryRun: false });
  return 0;
}

function namespaceOf(args: ReturnType<typeof parseArgs>): string | undefined {
  const namespace = str(args, 'namespace');
  if (namespace !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(namespace)) throw new UsageError(`--namespace ${namespace}: use letters, digits, '.', '_' or '-'`);
  return namespace;
}

async function fromDlq(args: ReturnType<typeof parseArgs>): Promise<number> {
  if (str(args, 'file') !== undefined) throw new UsageError(`--from-dlq reads <topic>.dlq, not a file; drop --file; usage: ${DLQ_USAGE}`);
  const topic = str(args, 'topic');
  if (!topic) throw new UsageError(`--from-dlq needs --topic T (the topic whose DLQ to replay); usage: ${DLQ_USAGE}`);
  if (!TOPICS.includes(topic as Topic)) throw new UsageError(`--topic ${topic} is not a topic; use one of ${TOPICS.join(', ')}`);
  const cfg = loadConfig();
  const source = physicalTopic(topic as Topic, namespaceOf(args));
  const producer = createProducer({ kafka: cfg.kafka, registryUrl: cfg.schemaRegistry.url, clientId: 'foresight-replay' });
  let r;
  try {
    await producer.connect().catch((err) => {
      throw unreachable(err);
    });
    r = await replayDlq(cfg.kafka, producer, source, { reason: str(args, 'reason'), dryRun: has(args, 'dry-run') }).catch((err) => {
      if (err instanceof InvalidInputError) throw new ForesightError('NO_TOPIC', `${err.message}: nothing was ever refused there`);
      throw err;
    });
  } finally {
    await producer.disconnect();
  }
  const reasons = Object.entries(r.byReason).map(([k, n]) => `${k} ${n}`).join(', ');
  if (has(args, 'json')) console.log(JSON.stringify({ dryRun: has(args, 'dry-run'), source, ...r }));
  else if (has(args, 'dry-run')) console.log(`would replay ${Object.values(r.byReason).reduce((a, b) => a + b, 0)} record(s) from ${source}.dlq to ${source}${reasons ? ` (${reasons})` : ''}; ${r.skipped} skipped; nothing sent`);
  else console.log(`replayed ${r.replayed} record(s) from ${source}.dlq to ${source}${reasons ? ` (${reasons})` : ''}${r.skipped ? `; ${r.skipped} skipped (other reasons)` : ''}`);
  return 0;
}

/** Before anything was sent: an outage gets the stack hint, a refusal (e.g. an incompatible schema) its own words. */
function unreachable(err: unknown): Error {
  const msg = (err as Error).message;
  if (!isRetriable(err)) return new ForesightError('PUBLISH', `${msg}; nothing was sent`);
  return new ForesightError('UNAVAILABLE', `${msg}; nothing was sent. Is the stack up? Run 'npx foresight stack up', or set KAFKA_BROKERS / SCHEMA_REGISTRY_URL`);
}

function report(
  args: ReturnType<typeof parseArgs>,
  r: { sent: number; checked: number; skipped: number; perTopic: Map<Topic, number>; schemaIds: Map<Topic, number>; dryRun: boolean },
): void {
  const topics = Object.fromEntries([...r.perTopic].map(([t, n]) => [t, { records: n, schemaId: r.schemaIds.get(t) ?? null }]));
  if (has(args, 'json')) {
    console.log(JSON.stringify({ dryRun: r.dryRun, checked: r.checked, sent: r.sent, skipped: r.skipped, topics }));
    return;
  }
  const parts = [...r.perTopic].map(([t, n]) => `${t} ${n}${r.schemaIds.has(t) ? ` (schema id ${r.schemaIds.get(t)})` : ''}`);
  const skipped = r.skipped ? `; skipped ${r.skipped} line(s) of other topics` : '';
  if (r.dryRun) console.log(`checked ${r.checked} record(s), all valid, nothing sent${parts.length ? `: ${parts.join(', ')}` : ''}${skipped}`);
  else console.log(`sent ${r.sent} record(s): ${parts.join(', ')}${skipped}`);
}
