import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig, type Config } from '../../core/config';
import { openPkcs11Module } from '../../hsm/pkcs11';
import type { HsmModule } from '../../hsm/ports';
import type { WorkloadRisk } from '../../schemas/types';
import { tempSoftHsm, type TempSoftHsm } from './softhsm-temp';

export interface PrivatePool {
  hsm: TempSoftHsm;
  mod: HsmModule;
  /** The stack's config with FORESIGHT_HOME in the private directory (partition PINs go there). */
  cfg: Config;
  poolFile: string;
}

/**
 * A one-HSM silver pool on a private SoftHSM2 (partitions created on demand, no reserve), with
 * one policy file, for tests of the hsm role on the real module.
 */
export function privateHsmPool(prefix: string, o: { id: string; rules: string; partitionCapacity?: number }): PrivatePool {
  const hsm = tempSoftHsm(prefix);
  const mod = openPkcs11Module(hsm.modulePath);
  const cfg = { ...loadConfig(), home: hsm.dir };
  const poolFile = path.join(hsm.dir, 'pool.yaml');
  fs.writeFileSync(path.join(hsm.dir, 'policy.yaml'), `rules: ${o.rules}\n`);
  fs.writeFileSync(
    poolFile,
    `policyFile: policy.yaml
poolId: ${o.id}
tiers: [{ name: silver, partitionOpsPerSecond: 500 }]
hsms: [{ id: ${o.id}, tier: silver, partitionCapacity: ${o.partitionCapacity ?? 2}, createPartitions: true }]
planner: { reserveFraction: 0 }
`,
  );
  return { hsm, mod, cfg, poolFile };
}

/** Forecast `n` for a network, `n` minutes after `t0`, peaking at `peak` ops/s 15 minutes after `t0`. */
export function workloadAt(t0: number, net: string, n: number, peak: number, over: Partial<WorkloadRisk> = {}): WorkloadRisk {
  return {
    eventId: `${net}:${n}`,
    timestamp: t0 + n * 60_000,
    clientNetworkId: net,
    horizon: 'PT6H',
    predictedCryptoOps: peak * 3600,
    predictedPeakOpsPerSec: peak,
    predictedPeakTime: t0 + 15 * 60_000,
    measuredOpsPerSec: 0,
    securityRisk: 0.2,
    threatIndicators: [],
    modelVersion: 'it-1',
    ...over,
  };
}
