import { execFile, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../../core/config';
import type { VmAccess } from '../../schemas';
import { loadSchema } from '../../schemas';
import {
  avroType,
  createProducer,
  done,
  ensureStreams,
  frame,
  runConsumer,
  unframe,
} from '../../streams';
import { testNamespaces } from '../support/namespaces';

// Each test gets its own namespace, dropped when the suite ends.
const newNs = testNamespaces('it-kcat');

// Real processes and brokers on a shared 2-core machine: generous, never asserted on.
jest.setTimeout(120_000);

// kcat (librdkafka, from Debian) as an independent client that sees only raw bytes.
const run = promisify(execFile);
const haveKcat = spawnSync('kcat', ['-V']).status === 0;
if (!haveKcat) console.warn('interop-kcat skipped: kcat is not installed; apt-get install kcat');

const cfg = loadConfig();
const broker = cfg.kafka.brokers[0];
const registryUrl = cfg.schemaRegistry.url;
const t = Date.now() - 1000;
const access = (n: number): VmAccess => ({ eventId: `k${n}`, timestamp: t, userId: `u${n}`, vmId: 'vm', action: 'EXEC', success: true, source: 'kcat' });

(haveKcat ? describe : describe.skip)('kcat and Foresight on the same topics', () => {
  it('kcat reads our records as Confluent wire format: magic byte 0, the registered id, Avro', async () => {
    const ns = newNs();
    const { schemaIds } = await ensureStreams(cfg, { namespace: ns, topics: ['telemetry.vm-access'] });
    const p = createProducer({ kafka: cfg.kafka, registryUrl, namespace: ns });
    await p.send('telemetry.vm-access', [{ key: 'u1', value: access(1) }]);
    await p.disconnect();
    const out = await run('kcat', ['-C', '-b', broker, '-t', `${ns}.telemetry.vm-access`, '-o', 'beginning', '-c', '1', '-e', '-q', '-f', '%k\t%s'], { encoding: 'buffer', timeout: 30_000 });
    const tab = out.stdout.indexOf(0x09);
    expect(out.stdout.subarray(0, tab).toString()).toBe('u1');
    const { schemaId, payload } = unframe(out.stdout.subarray(tab + 1));
    expect(schemaId).toBe(schemaIds.get('telemetry.vm-access'));
    expect({ ...(avroType(loadSchema('telemetry.vm-access')).fromBuffer(payload) as object) }).toEqual(access(1));
  });

  it('our consumer accepts wire-format bytes kcat produced, and DLQs its garbage with headers kcat can read', async () => {
    const ns = newNs();
    const { schemaIds } = await ensureStreams(cfg, { namespace: ns, topics: ['telemetry.vm-access'] });
    const topic = `${ns}.telemetry.vm-access`;
    const good = frame(schemaIds.get('telemetry.vm-access')!, avroType(loadSchema('telemetry.vm-access')).toBuffer(access(2)));
    const delim = Buffer.from([0x1e, 0x1d, 0x1c, 0x1b]);
    const file = path.join(os.tmpdir(), `${ns}.bin`);
    fs.writeFileSync(file, Buffer.concat([Buffer.from('u2\t'), good, delim, Buffer.from('u3\tplain text, not Avro'), delim]));
    await run('kcat', ['-P', '-b', broker, '-t', topic, '-K', '\t', '-D', '\\x1e\\x1d\\x1c\\x1b', '-l', file], { timeout: 30_000 });
    fs.rmSync(file);

    const got: string[] = [];
    const c = await runConsumer({
      kafka: cfg.kafka,
      registryUrl,
      namespace: ns,
      groupId: `${ns}-g`,
      topics: ['telemetry.vm-access'],
      fromBeginning: true,
      handle: async (r) => {
        got.push(r.value.eventId);
        return done();
      },
    });
    try {
      for (let i = 0; i < 600 && c.counters().in < 2; i++) await new Promise((r) => setTimeout(r, 50));
    } finally {
      await c.stop();
    }
    expect(got).toEqual(['k2']);
    expect(c.counters()).toMatchObject({ in: 2, processed: 1, dlq: 1 });
    const dlq = await run('kcat', ['-C', '-b', broker, '-t', `${topic}.dlq`, '-o', 'beginning', '-c', '1', '-e', '-q', '-f', '%k|%s|%h'], { timeout: 30_000 });
    expect(dlq.stdout).toMatch(/^u3\|plain text, not Avro\|.*dlq\.reason=no-magic-byte/);
    expect(dlq.stdout).toContain(`dlq.source.topic=${topic}`);
  });
});
