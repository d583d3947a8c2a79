import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../../core/config';
import { createProducer, dlqHeaders, ensureStreams } from '../../streams';
import { testNamespaces } from '../support/namespaces';

// Each test gets its own namespace, dropped when the suite ends.
const newNs = testNamespaces('it-cli');

// Real processes and brokers on a shared 2-core machine: generous, never asserted on.
jest.setTimeout(120_000);

// `foresight publish` and `foresight alerts tail` as a user runs them, on the real stack.
const run = promisify(execFile);
const cfg = loadConfig();
const bin = path.join(__dirname, '../../bin/foresight.js');
const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  run('node', [bin, ...args], { env: { ...process.env, ...env }, timeout: 60_000 }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

const now = Date.now();
const alert = (n: number) => ({ topic: 'alerts.admin', key: `pool-${n}`, value: { eventId: `a${n}`, timestamp: now, subject: `pool-${n}`, kind: 'POOL_EXHAUSTED', severity: 'CRITICAL', message: `pool ${n} exhausted`, details: { free: '0' } } });
const note = { topic: 'notifications.user', key: 'alice', value: { eventId: 'n1', timestamp: now, userId: 'alice', kind: 'CREDENTIAL_READY', vmId: 'vm-1', message: 'credential ready', scheduledFor: null } };

const files: string[] = [];
function file(lines: string[]): string {
  const f = path.join(os.tmpdir(), `publish-${randomUUID()}.jsonl`);
  fs.writeFileSync(f, lines.join('\n') + '\n');
  files.push(f);
  return f;
}
afterAll(() => files.forEach((f) => fs.rmSync(f, { force: true })));

describe('publish and alerts tail', () => {
  it('publishes checked lines and tails them back, readable and as JSON', async () => {
    const ns = newNs();
    const f = file([alert(1), alert(2), note].map((o) => JSON.stringify(o)));
    const pub = await cli(['publish', '--file', f, '--namespace', ns]);
    expect(pub.stderr).toBe('');
    expect(pub.stdout).toMatch(/^sent 3 record\(s\): alerts.admin 2 \(schema id \d+\), notifications.user 1 \(schema id \d+\)\n$/);

    const tail = await cli(['alerts', 'tail', '--namespace', ns, '--from-beginning', '--max', '2', '--timeout', '30']);
    expect(tail.code).toBe(0);
    expect(tail.stdout.trim().split('\n')).toEqual([expect.stringMatching(/CRITICAL POOL_EXHAUSTED \[pool-1\] pool 1 exhausted {2}\(free=0\)$/), expect.stringMatching(/\[pool-2\] pool 2 exhausted/)]);

    const json = await cli(['alerts', 'tail', '--topic', 'notifications.user', '--namespace', ns, '--from-beginning', '--max', '1', '--json', '--timeout', '30']);
    expect(JSON.parse(json.stdout)).toMatchObject({ topic: 'notifications.user', key: 'alice', value: note.value });
  });

  it('refuses a file with bad lines, naming each by number, and sends nothing', async () => {
    const ns = newNs();
    const bad = { ...alert(2), value: { ...alert(2).value, severity: 'LOUD' } };
    const f = file([JSON.stringify(alert(1)), 'oops', JSON.stringify(bad)]);
    const pub = await cli(['publish', '--file', f, '--namespace', ns]);
    expect(pub.code).toBe(1);
    expect(pub.stderr).toMatch(/^line 2: not JSON/m);
    expect(pub.stderr).toMatch(/^line 3: alerts.admin: severity: "LOUD" is not one of INFO, WARNING, CRITICAL$/m);
    expect(pub.stderr).toMatch(/2 bad line\(s\) .* nothing was sent/);
    const tail = await cli(['alerts', 'tail', '--namespace', ns, '--from-beginning', '--timeout', '3']);
    expect(tail.stdout).toBe('');
  });

  it('replays a DLQ with publish --from-dlq, and says what it did', async () => {
    const ns = newNs();
    const topic = `${ns}.telemetry.vm-access`;
    await ensureStreams(cfg, { namespace: ns, topics: ['telemetry.vm-access'] });
    const p = createProducer({ kafka: cfg.kafka, registryUrl: cfg.schemaRegistry.url });
    const src = (offset: string) => ({ topic, partition: 0, offset });
    await p.sendRaw(`${topic}.dlq`, [
      { key: 'u1', value: Buffer.from('x'), headers: dlqHeaders('no-magic-byte', 'first byte is 120', src('0'), 'g') },
      { key: 'u2', value: Buffer.from('y'), headers: dlqHeaders('invalid', 'userId is empty', src('1'), 'g') },
    ]);
    await p.disconnect();
    const dry = await cli(['publish', '--from-dlq', '--topic', 'telemetry.vm-access', '--namespace', ns, '--reason', 'invalid', '--dry-run']);
    expect(dry.stdout).toBe(`would replay 1 record(s) from ${topic}.dlq to ${topic} (invalid 1); 1 skipped; nothing sent\n`);
    const real = await cli(['publish', '--from-dlq', '--topic', 'telemetry.vm-access', '--namespace', ns]);
    expect(real.stdout).toMatch(new RegExp(`^replayed 2 record\\(s\\) from ${topic}.dlq to ${topic} \\((no-magic-byte 1, invalid 1|invalid 1, no-magic-byte 1)\\)\\n$`));
    const usage = await cli(['publish', '--from-dlq']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--from-dlq needs --topic T/);
  });

  it('fails in one line naming the fix when the broker is unreachable', async () => {
    const f = file([JSON.stringify(alert(1))]);
    const pub = await cli(['publish', '--file', f], { KAFKA_BROKERS: '127.0.0.1:9' });
    expect(pub.code).toBe(1);
    expect(pub.stderr.trim().split('\n')).toHaveLength(1);
    expect(pub.stderr).toMatch(/nothing was sent.*foresight stack up/);
  });
});
