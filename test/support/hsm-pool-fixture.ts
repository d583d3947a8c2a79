import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig, type Config } from '../../core/config';
import { openPkcs11Module } from '../../hsm/pkcs11';
import type { HsmModule } from '../../hsm/ports';
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
