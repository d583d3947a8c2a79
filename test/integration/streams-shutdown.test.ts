import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { loadConfig } from '../../core/config';
import type { VmAccess } from '../../schemas';
import { createProducer, done, ensureStreams, runConsumer } from '../../streams';
import { testNamespaces } from '../support/namespaces';

// Each test gets its own namespace, dropped when the suite ends.
const newNs = testNamespaces('it-stop');

// Real processes and brokers on a shared 2-core machine: generous, never asserted on.
jest.setTimeout(120_000);

// A role process stopped by SIGTERM mid-stream: it finishes the record in hand, commits and
// leaves, so the next member of the group starts exactly where it stopped.
const cfg = loadConfig();
const registryUrl = cfg.schemaRegistry.url;
const root = path.join(__dirname, '../..');

const childScript = (ns: string) => `
require('tsx/cjs');
const { loadConfig } = require(${JSON.stringify(path.join(root, 'core/config'))});
const s = require(${JSON.stringify(path.join(root, 'streams'))});
(async () => {
  const cfg = loadConfig();
  const c = await s.runConsumer({ kafka: cfg.kafka, registryUrl: cfg.schemaRegistry.url, namespace: ${JSON.stringify(ns)},
    groupId: ${JSON.stringify(ns + '-g')}, topics: ['telemetry.vm-access'], fromBeginning: true,
    handle: async (r) => { await new Promise((res) => setTimeout(res, 40)); process.stdout.write('handled ' + r.value.eventId + '\\n'); return s.done(); } });
  s.onShutdownSignals([() => c.stop()]);
})();
`;

describe('graceful shutdown of a consumer process', () => {
  it('on SIGTERM finishes in-flight work, commits, and exits 0; the group resumes with no gap and no repeat', async () => {
    const ns = newNs();
    await ensureStreams(cfg, { namespace: ns, topics: ['telemetry.vm-access'] });
    const n = 60;
    const p = createProducer({ kafka: cfg.kafka, registryUrl, namespace: ns });
    const value = (i: number): VmAccess => ({ eventId: `e${i}`, timestamp: Date.now() - 1000, userId: 'u', vmId: 'vm', action: 'EXEC', success: true, source: 'it' });
    await p.send('telemetry.vm-access', Array.from({ length: n }, (_, i) => ({ key: 'same-key', value: value(i) })));
    await p.disconnect();

    const child = spawn(process.execPath, ['-e', childScript(ns)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const first: string[] = [];
    let buf = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        buf += d;
        const lines = buf.split('\n');
        buf = lines.pop()!;
        for (const l of lines) if (l.startsWith('handled ')) first.push(l.slice(8));
        if (first.length >= 10) resolve();
      });
      void exited.then(() => reject(new Error(`child exited early: ${stderr}`)));
    });
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    for (const l of buf.split('\n')) if (l.startsWith('handled ')) first.push(l.slice(8));
    expect(first.length).toBeLessThan(n);

    const second: string[] = [];
    const c = await runConsumer({
      kafka: cfg.kafka,
      registryUrl,
      namespace: ns,
      groupId: `${ns}-g`,
      topics: ['telemetry.vm-access'],
      fromBeginning: true,
      handle: async (r) => {
        second.push(r.value.eventId);
        return done();
      },
    });
    try {
      for (let i = 0; i < 600 && first.length + second.length < n; i++) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 500)); // anything repeated would arrive now
    } finally {
      await c.stop();
    }
    expect([...first, ...second]).toEqual(Array.from({ length: n }, (_, i) => `e${i}`));
  });
});
