import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig } from '../../core/config';
import { EsdbEventStore } from '../../eventstore/client';
import { HsmOrchestrator } from '../../hsm/orchestrator';
import { pkcs11PartitionOps } from '../../hsm/partition-ops';
import { openPartition } from '../../hsm/partitions';
import { openPkcs11Module } from '../../hsm/pkcs11';
import { loadPoolConfig } from '../../hsm/pool-config';
import { tempSoftHsm } from '../support/softhsm-temp';

// `foresight hsm pool` as an operator runs it: pool file, owners rebuilt from the event store,
// token presence from the PKCS#11 module, allocations with their keys; and its one-line errors.
const BIN = path.join(__dirname, '../../bin/foresight.js');
const run = randomBytes(3).toString('hex');

function cli(args: string[], env: Record<string, string>): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, out: stdout, err: stderr }),
    );
  });
}

test('hsm pool shows tiers, owners, token presence and allocations; operator actions reach the events and the token; bad input is one line with the fix', async () => {
  const hsm = tempSoftHsm('fs-hsm-cli-');
  const poolFile = path.join(hsm.dir, 'pool.yaml');
  fs.writeFileSync(poolFile, `poolId: c${run}\ntiers: [{ name: silver, partitionOpsPerSecond: 500 }]\nhsms: [{ id: c${run}, tier: silver, partitionCapacity: 2, createPartitions: true }]\n`);
  const cfg = loadConfig();
  const pool = loadPoolConfig(poolFile, { module: hsm.modulePath, home: hsm.dir });
  const mod = openPkcs11Module(hsm.modulePath);
  const store = EsdbEventStore.connect(cfg.eventStore.connectionString);
  const ops = pkcs11PartitionOps(() => mod, pool);
  const net = `cli-net-${run}`;
  try {
    const orch = new HsmOrchestrator({ config: pool, rules: [], store, partitions: ops, publishAlert: async () => {} });
    const now = Date.now();
    await orch.handle({
      eventId: `${net}:1`,
      timestamp: now,
      clientNetworkId: net,
      horizon: 'PT1H',
      predictedCryptoOps: 1,
      predictedPeakOpsPerSec: 200,
      predictedPeakTime: now,
      measuredOpsPerSec: 0,
      securityRisk: 0.7,
      threatIndicators: [],
      modelVersion: 'cli',
    });
  } finally {
    await ops.close();
    await mod.close();
    await store.close();
  }

  const env = { FORESIGHT_HOME: hsm.dir, PKCS11_MODULE: hsm.modulePath, SOFTHSM2_CONF: hsm.conf };
  const json = await cli(['hsm', 'pool', '--pool', poolFile, '--json'], env);
  expect(json.err).toBe('');
  expect(json.code).toBe(0);
  const doc = JSON.parse(json.out);
  expect(doc.hsms[0].partitions).toEqual([
    { label: `c${run}-p01`, owner: net, token: 'present' },
    { label: `c${run}-p02`, owner: null, token: 'absent' },
  ]);
  const mine = doc.allocations.find((a: { clientNetworkId: string }) => a.clientNetworkId === net);
  expect(mine).toMatchObject({ partitions: [`c${run}-p01`], capacityOpsPerSecond: 500, riskLevel: 'high', auditLevel: 'full', quarantined: false });
  expect(Object.keys(mine.keys).sort()).toEqual([`c${run}-p01/root-sign`, `c${run}-p01/root-wrap`]);

  const table = await cli(['hsm', 'pool', '--pool', poolFile], env);
  expect(table.out).toMatch(new RegExp(`c${run}\\s+silver\\s+1/2\\s+c${run}-p01=${net}, c${run}-p02 \\(no token yet\\)`));

  // operator actions: recorded as events, carried out in the token
  const q = await cli(['hsm', 'quarantine', '--client-network', net, '--pool', poolFile, '--reason', 'incident 42'], env);
  expect(q.err).toBe('');
  expect(q.out.trim()).toBe(`quarantine ${net}: PartitionQuarantined, PolicyActionTaken`);
  expect((await cli(['hsm', 'quarantine', '--client-network', net, '--pool', poolFile], env)).out).toMatch(/nothing to do/);
  const check = openPkcs11Module(hsm.modulePath);
  try {
    const s = await openPartition(check, pool, `c${run}-p01`);
    const wrap = (await s.findKeys({ label: 'root-wrap/v1' }))[0];
    expect(await s.usageOf(wrap)).toMatchObject({ wrap: false, unwrap: false, encrypt: false, decrypt: false });
    await s.close();
    expect((await cli(['hsm', 'lift-quarantine', '--client-network', net, '--pool', poolFile], env)).out.trim()).toBe(
      `lift-quarantine ${net}: QuarantineLifted, PolicyActionTaken`,
    );
    expect((await cli(['hsm', 'rotate', '--client-network', net, '--pool', poolFile], env)).out.trim()).toBe(
      `rotate ${net}: KeyRotated, KeyRotated, PolicyActionTaken`,
    );
    const s2 = await openPartition(check, pool, `c${run}-p01`);
    const wraps = await s2.findKeys({ labelPrefix: 'root-wrap/' });
    expect(wraps.map((k) => k.label)).toEqual(['root-wrap/v1', 'root-wrap/v2']);
    expect(await s2.usageOf(wraps[0])).toMatchObject({ unwrap: true, wrap: false });
    await s2.close();
  } finally {
    await check.close();
  }
  expect((await cli(['hsm', 'rotate', '--pool', poolFile], env)).err).toMatch(/--client-network is required/);

  const bad = path.join(hsm.dir, 'bad.yaml');
  fs.writeFileSync(bad, 'tiers: [{ name: silver, partitionOpsPerSecond: 500 }]\nhsms: [{ id: x, tier: gold, partitionCapacity: 2 }]\n');
  const err = await cli(['hsm', 'pool', '--pool', bad], env);
  expect(err.code).toBe(1);
  expect(err.err.trim().split('\n')).toEqual([`foresight hsm: ${bad}: hsms[0].tier "gold" is not a declared tier (declared: silver)`]);
  const usage = await cli(['hsm', 'pools'], env);
  expect(usage.code).toBe(2);
  hsm.cleanup();
}, 240_000); // a dozen CLI processes, each starting tsx
