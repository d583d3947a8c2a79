/**
 * HSM pool, in one run:
 * - allocation decision latency (p50): the pure decision the orchestrator makes per forecast
 *   (risk profile, policy rules, capacity plan over the whole pool) vs one read of the client's
 *   allocation stream from the local EventStoreDB, which every decision needs anyway;
 * - crypto operations per second in one partition through graphene-pk11 (RSA-2048 PKCS#1 signs,
 *   ECDSA P-256 signs, AES-256-GCM 64-byte encryptions) vs the capacity the pool file declares for
 *   a partition of the tier, so "ratio >= 1" reads "this HSM delivers what its tier promises".
 * Keys are session objects on the stack's pool token: nothing is left in the token.
 */
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../core/config';
import { fold } from '../core/decider';
import { EsdbEventStore } from '../eventstore/client';
import { handleCommand, loadStream } from '../eventstore/handler';
import { allocationDecider, capacityOf } from '../hsm/allocation';
import { allocationStream } from '../hsm/events';
import { openPkcs11Module } from '../hsm/pkcs11';
import { plan } from '../hsm/planner';
import { evaluatePolicy, factsFrom } from '../hsm/policy';
import { loadPool } from '../hsm/role';
import { profileFor } from '../hsm/risk-profile';
import type { HsmSession } from '../hsm/ports';
import { readTokenPin, useLocalSoftHsm } from '../stack/softhsm';
import type { Benchmark, BenchResult } from './types';

const p50 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function opsPerSecond(ms: number, op: () => Promise<unknown>): Promise<number> {
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    await op();
    n++;
  }
  return n / ((performance.now() - t0) / 1000);
}

async function cryptoFigures(session: HsmSession, tag: string, seconds: number, declared: number, tierName: string): Promise<BenchResult[]> {
  const rsa = await session.generateRsaKeyPair({ label: `${tag}/rsa`, persistent: false });
  const ec = await session.generateEcKeyPair({ label: `${tag}/ec`, persistent: false });
  const aes = await session.generateAesKey({ label: `${tag}/aes`, persistent: false });
  const data = randomBytes(64);
  const ms = seconds * 1000;
  const out: Array<[string, number]> = [
    ['RSA-2048 signs/s per partition', await opsPerSecond(ms, () => session.sign(rsa.privateKey, data))],
    ['ECDSA P-256 signs/s per partition', await opsPerSecond(ms, () => session.sign(ec.privateKey, data))],
    ['AES-256-GCM 64 B encryptions/s per partition', await opsPerSecond(ms, () => session.encrypt(aes, data))],
  ];
  for (const k of [rsa.privateKey, rsa.publicKey, ec.privateKey, ec.publicKey, aes]) await session.destroy(k);
  return out.map(([name, v]) => ({
    name: `HSM ${name}`,
    baseline: `the ${tierName} tier's declared partitionOpsPerSecond`,
    baselineValue: declared,
    subjectValue: Math.round(v),
    unit: 'ops/s',
    ratio: v / declared,
    higherIsBetter: true,
    note: 'SoftHSM2 through graphene-pk11, one session, sequential calls; ratio = measured / declared',
  }));
}

export const benchmark: Benchmark = {
  id: 'hsm',
  needs: ['eventstore', 'hsm'],
  async run(ctx) {
    const cfg = loadConfig();
    const { pool, rules } = loadPool(cfg);
    const tag = `bench-${ctx.runId.replace(/[^A-Za-z0-9-]/g, '')}`;
    const net = `${tag}-net`;
    const iterations = ctx.quick ? 200 : 2000;
    const reads = ctx.quick ? 20 : 200;

    // A history to decide on: one allocation on the stack's event store.
    const store = EsdbEventStore.connect(cfg.eventStore.connectionString);
    const results: BenchResult[] = [];
    try {
      const at = new Date().toISOString();
      const silver = pool.hsms.find((h) => h.tier === pool.tiers[0].name)!;
      await handleCommand(store, {
        stream: allocationStream(net),
        decider: allocationDecider,
        command: {
          kind: 'Allocate',
          clientNetworkId: net,
          partitions: [{ hsmId: silver.id, label: silver.partitionLabels[0], tier: silver.tier, opsPerSecond: pool.tiers[0].partitionOpsPerSecond }],
          reason: 'predicted-peak',
          requiredOpsPerSecond: 300,
          predictedPeakOpsPerSec: 240,
          predictedPeakTime: at,
          measuredOpsPerSec: 0,
          modelVersion: 'bench',
          at,
        },
        commandId: `${tag}-allocate`,
        now: at,
      });
      const readMs: number[] = [];
      let state = fold(allocationDecider, []);
      for (let i = 0; i < reads; i++) {
        const t0 = performance.now();
        state = (await loadStream(store, allocationStream(net), allocationDecider)).state;
        readMs.push(performance.now() - t0);
      }
      const assigned = { [pool.hsms[0].partitionLabels[0]]: net };
      const now = Date.now();
      const decideMs: number[] = [];
      for (let i = 0; i < iterations; i++) {
        const forecast = { predictedPeakOpsPerSec: 100 + (i % 50) * 40, predictedPeakTime: now + 10 * 60_000, measuredOpsPerSec: (i % 7) * 30, modelVersion: 'bench' };
        const t0 = performance.now();
        const profile = profileFor((i % 10) / 10, state.profile);
        evaluatePolicy(rules, factsFrom({ ...forecast, securityRisk: (i % 10) / 10, threatIndicators: [] }, capacityOf(state), profile.level), now, state.ruleFiredAt);
        plan({ config: pool, assigned, current: state, forecast, now });
        decideMs.push(performance.now() - t0);
      }
      const d = p50(decideMs);
      const r = p50(readMs);
      results.push({
        name: 'HSM allocation decision latency',
        baseline: 'one read + fold of the allocation stream from EventStoreDB',
        baselineValue: Number(r.toFixed(3)),
        subjectValue: Number(d.toFixed(4)),
        unit: 'ms p50',
        ratio: r / d,
        higherIsBetter: false,
        note: `decision = risk profile + ${rules.length} policy rules + capacity plan over ${pool.hsms.length} HSMs; ratio = baseline / subject (how many decisions fit in one stream read)`,
      });
    } finally {
      await store.close();
    }

    // Crypto throughput in one partition of the pool's cheapest tier.
    useLocalSoftHsm(cfg);
    const tokenLabel = pool.hsms.find((h) => h.tier === pool.tiers[0].name)?.adminToken ?? 'hsm-silver-1';
    const mod = openPkcs11Module(cfg.hsm.module);
    try {
      const session = await mod.openSession(tokenLabel, readTokenPin(tokenLabel, cfg));
      try {
        ctx.log(`hsm: measuring crypto ops/s on token ${tokenLabel}`);
        results.push(...(await cryptoFigures(session, tag, ctx.quick ? 0.3 : 2, pool.tiers[0].partitionOpsPerSecond, pool.tiers[0].name)));
      } finally {
        await session.close();
      }
    } finally {
      await mod.close();
    }
    return results;
  },
};
