import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../core/config';
import { createProducer, done, ensureStreams, runConsumer } from '../../streams';
import { computeFeatures } from '../../projections/offline';
import { simulate } from '../../models/sim/simulate';
import { initBackend } from '../../models/backend';
import { randomModels } from '../../models/random-models';
import { disposeModels, loadModels, saveModels } from '../../models/store';
import { Scorer } from '../../models/scorer/core';
import { startScorer } from '../../models/scorer/role';
import type { AccessFeatures, AccessRisk, NetworkFeatures, WorkloadRisk } from '../../schemas/types';

jest.setTimeout(300_000);
const cfg = loadConfig();

async function waitFor(what: string, cond: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function writeModel(dir: string, seed: number): Promise<string> {
  const m = randomModels(seed, 16);
  const { version: _v, format: _f, ...meta } = m.metadata;
  const saved = await saveModels(dir, { ...meta, createdAt: `2026-01-0${seed}T00:00:00.000Z`, training: { ...meta.training, dataHash: `seed${seed}` } }, m.access, m.workload);
  disposeModels(m);
  return saved.version;
}

describe('scorer role on Kafka', () => {
  it('given features on Kafka and a model swapped mid-stream, then every window is scored exactly once, by the version in force', async () => {
    await initBackend();
    const ns = `t-models-scorer-${randomUUID().slice(0, 8)}`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'foresight-scorer-'));
    const v1 = await writeModel(dir, 1);
    const f = computeFeatures(simulate({ users: 5, vms: 4, networks: 1, days: 2, seed: 4 }).records);
    const access = [...f.access].sort((a, b) => a.windowEnd - b.windowEnd);
    const network = [...f.network].sort((a, b) => a.windowEnd - b.windowEnd);
    const half = (xs: unknown[]) => Math.floor(xs.length / 2);
    await ensureStreams(cfg, { namespace: ns, topics: ['features.access', 'features.network', 'risk.access', 'risk.workload'] });
    const producer = createProducer({ kafka: cfg.kafka, registryUrl: cfg.schemaRegistry.url, namespace: ns });
    const send = async (a: AccessFeatures[], n: NetworkFeatures[]) => {
      for (let i = 0; i < a.length; i += 500) await producer.send('features.access', a.slice(i, i + 500).map((v) => ({ key: v.userId, value: v })));
      for (let i = 0; i < n.length; i += 500) await producer.send('features.network', n.slice(i, i + 500).map((v) => ({ key: v.clientNetworkId, value: v })));
    };
    const risks: AccessRisk[] = [];
    const workload: WorkloadRisk[] = [];
    const collector = await runConsumer({
      kafka: cfg.kafka,
      registryUrl: cfg.schemaRegistry.url,
      groupId: `${ns}-collect`,
      namespace: ns,
      topics: ['risk.access', 'risk.workload'],
      handle: async (r) => {
        if (r.topic === 'risk.access') risks.push(r.value as AccessRisk);
        else workload.push(r.value as WorkloadRisk);
        return done();
      },
    });
    const role = await startScorer({ config: cfg, modelDir: dir, namespace: ns, groupId: `${ns}-scorer`, instanceId: 'one', reloadCheckMs: 0 });
    try {
      await collector.ready;
      await role.ready;
      await send(access.slice(0, half(access)), network.slice(0, half(network)));
      await waitFor('first half scored', () => risks.length >= half(access) && workload.length >= half(network), 120_000);
      expect(new Set(risks.map((r) => r.modelVersion))).toEqual(new Set([v1]));

      const v2 = await writeModel(dir, 2);
      await send(access.slice(half(access)), network.slice(half(network)));
      // A redelivered window must not be scored again; one of other feature definitions goes to the DLQ.
      await send(access.slice(0, 5), []);
      const last = access[access.length - 1];
      await send([{ ...last, featureVersion: 99, windowStart: last.windowStart + 3_600_000, windowEnd: last.windowEnd + 3_600_000, eventId: `${last.eventId}-v99` }], []);
      await waitFor('second half scored', () => risks.length >= access.length && workload.length >= network.length, 120_000);
      await new Promise((r) => setTimeout(r, 2000));

      expect(risks).toHaveLength(access.length);
      expect(workload).toHaveLength(network.length);
      const scored = new Set(risks.map((r) => `${r.userId}|${r.vmId}|${r.timestamp}`));
      expect(scored.size).toBe(access.length);
      for (const a of access) expect(scored.has(`${a.userId}|${a.vmId}|${a.windowEnd}`)).toBe(true);
      const late = risks.filter((r) => r.timestamp > access[half(access) - 1].windowEnd);
      expect(late.every((r) => r.modelVersion === v2)).toBe(true);
      expect(role.counters().reloads).toBe(1);
      expect(role.counters().duplicates).toBeGreaterThanOrEqual(5);
      await waitFor('feature-version record refused', () => role.counters().featureVersionMismatches === 1, 30_000);
      for (const r of risks) {
        expect(r.riskScore).toBeGreaterThanOrEqual(0);
        expect(r.riskScore).toBeLessThanOrEqual(1);
        expect(Object.keys(r.horizonScores)).toEqual(expect.arrayContaining(['PT1H', 'P1D']));
      }
    } finally {
      await role.stop();
      await collector.stop();
      await producer.disconnect();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('given a restart with warm-up, then the restarted scorer continues as an uninterrupted one would, each window once', async () => {
    await initBackend();
    const ns = `t-models-warm-${randomUUID().slice(0, 8)}`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'foresight-warm-'));
    await writeModel(dir, 3);
    const access = [...computeFeatures(simulate({ users: 4, vms: 3, networks: 0, days: 2, seed: 5 }).records).access].sort((a, b) => a.windowEnd - b.windowEnd);
    const cut = Math.floor(access.length / 2);
    await ensureStreams(cfg, { namespace: ns, topics: ['features.access', 'features.network', 'risk.access', 'risk.workload'] });
    const producer = createProducer({ kafka: cfg.kafka, registryUrl: cfg.schemaRegistry.url, namespace: ns });
    const send = async (a: AccessFeatures[]) => {
      for (let i = 0; i < a.length; i += 500) await producer.send('features.access', a.slice(i, i + 500).map((v) => ({ key: v.userId, value: v })));
    };
    const risks: AccessRisk[] = [];
    const collector = await runConsumer({
      kafka: cfg.kafka,
      registryUrl: cfg.schemaRegistry.url,
      groupId: `${ns}-collect`,
      namespace: ns,
      topics: ['risk.access'],
      handle: async (r) => {
        risks.push(r.value as AccessRisk);
        return done();
      },
    });
    const models = loadModels(dir);
    try {
      await collector.ready;
      await send(access.slice(0, cut));
      const first = await startScorer({ config: cfg, modelDir: dir, namespace: ns, groupId: `${ns}-scorer`, instanceId: 'a' });
      try {
        await waitFor('first part scored', () => risks.length >= cut, 120_000);
      } finally {
        await first.stop();
      }
      await send(access.slice(cut));
      const second = await startScorer({ config: cfg, modelDir: dir, namespace: ns, groupId: `${ns}-scorer`, instanceId: 'b', warmUp: { idleMs: 1500, timeoutMs: 30_000 } });
      try {
        await waitFor('all scored', () => risks.length >= access.length, 120_000);
        await new Promise((r) => setTimeout(r, 1500));
      } finally {
        await second.stop();
      }
      expect(risks).toHaveLength(access.length);
      const reference = new Map(new Scorer(models).scoreAccess(access).map((r) => [r.eventId, r.riskScore]));
      for (const r of risks) expect(r.riskScore).toBeCloseTo(reference.get(r.eventId)!, 5);
    } finally {
      disposeModels(models);
      await collector.stop();
      await producer.disconnect();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
