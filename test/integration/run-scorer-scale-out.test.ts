/**
 * `foresight run --role scorer` twice, as two real processes in one consumer group: the second
 * joins halfway through the stream (a rebalance mid-stream). Every key is scored exactly once per
 * window in what readers see (risk.access / risk.workload, committed only), and both share it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { loadConfig } from '../../core/config';
import { ensureDemoModel } from '../../demo/model';
import { featuresOf } from '../../models/pipeline';
import { simulate } from '../../models/sim/simulate';
import type { AccessFeatures, AccessRisk, NetworkFeatures, WorkloadRisk } from '../../schemas/types';
import { createProducer, done, ensureStreams, runConsumer } from '../../streams';

jest.setTimeout(420_000);

const ROOT = path.resolve(__dirname, '../..');
const cfg = loadConfig();
const TINY = { users: 6, vms: 4, networks: 1, days: 4, seed: 3, epochs: 1, workloadEpochs: 1 };

interface Instance {
  child: ChildProcess;
  stderr: () => string;
  opsPort: Promise<number>;
  exited: Promise<number | null>;
}

function startScorer(ns: string, modelDir: string, id: string): Instance {
  const child = spawn(
    process.execPath,
    [path.join(ROOT, 'bin/foresight.js'), 'run', '--role', 'scorer', '--namespace', ns, '--group-prefix', `${ns}-`, '--model', modelDir, '--ops-port', '0', '--instance-id', `${ns}-${id}`],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LOG_LEVEL: 'warn' } },
  );
  let err = '';
  let onPort!: (p: number) => void;
  const opsPort = new Promise<number>((r) => (onPort = r));
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    const m = /metrics http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(err);
    if (m) onPort(Number(m[1]));
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, stderr: () => err, opsPort, exited };
}

async function waitFor(what: string, cond: () => boolean, timeoutMs: number, detail: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${detail()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function scoredBy(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('foresight_scorer_scored_total'))
    .reduce((s, l) => s + Number(l.split(' ').pop()), 0);
}

describe('run --role scorer, two instances', () => {
  it('given a second instance joining mid-stream, then every key is scored exactly once per window and both instances score', async () => {
    const ns = `t-runscale-${randomUUID().slice(0, 8)}`;
    const model = await ensureDemoModel(cfg.home, TINY, () => undefined);
    const f = featuresOf(simulate({ users: 8, vms: 5, networks: 2, days: 2, seed: 5 }).records);
    await ensureStreams(cfg, { namespace: ns, topics: ['features.access', 'features.network', 'risk.access', 'risk.workload'] });

    const access: AccessRisk[] = [];
    const workload: WorkloadRisk[] = [];
    const reader = await runConsumer({
      kafka: cfg.kafka,
      registryUrl: cfg.schemaRegistry.url,
      groupId: `${ns}-reader`,
      topics: ['risk.access', 'risk.workload'],
      namespace: ns,
      handle: async (r) => {
        if (r.topic === 'risk.access') access.push(r.value as AccessRisk);
        else workload.push(r.value as WorkloadRisk);
        return done();
      },
    });
    const producer = createProducer({ kafka: cfg.kafka, registryUrl: cfg.schemaRegistry.url, namespace: ns });
    const publish = async (a: AccessFeatures[], n: NetworkFeatures[]) => {
      for (let i = 0; i < a.length; i += 500) await producer.send('features.access', a.slice(i, i + 500).map((v) => ({ key: v.userId, value: v })));
      for (let i = 0; i < n.length; i += 500) await producer.send('features.network', n.slice(i, i + 500).map((v) => ({ key: v.clientNetworkId, value: v })));
    };
    const mid = (xs: { windowEnd: number }[]) => {
      const ends = xs.map((x) => x.windowEnd).sort((p, q) => p - q);
      return ends[Math.floor(ends.length / 2)];
    };
    const cutA = mid(f.access);
    const cutN = f.network.length ? mid(f.network) : 0;

    const instances: Instance[] = [];
    try {
      await producer.connect();
      instances.push(startScorer(ns, model.dir, 'a'));
      await Promise.race([instances[0].opsPort, instances[0].exited.then((c) => Promise.reject(new Error(`instance a exited ${c}: ${instances[0].stderr()}`)))]);
      await publish(f.access.filter((x) => x.windowEnd < cutA), f.network.filter((x) => x.windowEnd < cutN));
      await waitFor('instance a to score the first half', () => access.length > 0, 120_000, () => instances[0].stderr());

      instances.push(startScorer(ns, model.dir, 'b'));
      await Promise.race([instances[1].opsPort, instances[1].exited.then((c) => Promise.reject(new Error(`instance b exited ${c}: ${instances[1].stderr()}`)))]);
      await publish(f.access.filter((x) => x.windowEnd >= cutA), f.network.filter((x) => x.windowEnd >= cutN));

      await waitFor(
        'a score for every window',
        () => access.length >= f.access.length && workload.length >= f.network.length,
        240_000,
        () => ` (access ${access.length}/${f.access.length}, workload ${workload.length}/${f.network.length})`,
      );
      await new Promise((r) => setTimeout(r, 3000)); // anything scored twice would show up by now

      const key = (u: string, v: string, end: number) => `${u}|${v}|${end}`;
      const expected = f.access.map((x) => key(x.userId, x.vmId, x.windowEnd)).sort();
      const got = access.map((x) => key(x.userId, x.vmId, x.timestamp)).sort();
      expect(got).toEqual(expected);
      const expectedN = f.network.map((x) => `${x.clientNetworkId}|${x.windowEnd}`).sort();
      expect(workload.map((x) => `${x.clientNetworkId}|${x.timestamp}`).sort()).toEqual(expectedN);

      // Both shared the work (when the scorer reports it: the minimal role in roles/ does).
      const [pa, pb] = await Promise.all(instances.map((i) => i.opsPort));
      const [sa, sb] = await Promise.all([scoredBy(pa), scoredBy(pb)]);
      if (sa + sb > 0) {
        expect(sa).toBeGreaterThan(0);
        expect(sb).toBeGreaterThan(0);
      }
      const health = await fetch(`http://127.0.0.1:${pb}/healthz`);
      expect(health.status).toBe(200);
    } finally {
      for (const i of instances) i.child.kill('SIGTERM');
      const codes = await Promise.all(instances.map((i) => i.exited));
      await reader.stop();
      await producer.disconnect();
      expect(codes.every((c) => c === 0)).toBe(true);
    }
  });
});
