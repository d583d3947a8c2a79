import type { KeyVersionRef, RiskProfile } from './events';
import {
  applyProfileToKeys,
  configureBaseline,
  ensurePartitionToken,
  freezePartition,
  openPartition,
  retireKeyVersion,
  rotateKey,
  thawPartition,
  wipePartition,
} from './partitions';
import type { PoolConfig } from './pool-config';
import type { HsmModule, HsmSession } from './ports';

/**
 * What the orchestrator does to partitions, as a port: the real one below works on PKCS#11
 * tokens; unit specs of the orchestration logic use a recording fake of this interface.
 */
export interface PartitionOps {
  ensure(label: string): Promise<void>;
  configureBaseline(label: string, profile: RiskProfile): Promise<KeyVersionRef[]>;
  rotate(label: string, current: KeyVersionRef, profile: RiskProfile): Promise<KeyVersionRef>;
  retire(label: string, version: KeyVersionRef): Promise<void>;
  applyProfile(label: string, currentWrap: KeyVersionRef | undefined, profile: RiskProfile): Promise<void>;
  /** Quarantine: every key of the partition loses every usage until lifted. */
  freeze(label: string): Promise<void>;
  /** Quarantine lifted: usage back for the current versions under the profile. */
  thaw(label: string, current: KeyVersionRef[], profile: RiskProfile): Promise<void>;
  wipe(label: string): Promise<void>;
  close(): Promise<void>;
}

/** PartitionOps over one PKCS#11 module per HSM's library path; sessions kept open per label. */
export function pkcs11PartitionOps(modules: (modulePath: string) => HsmModule, config: PoolConfig): PartitionOps {
  const sessions = new Map<string, HsmSession>();
  const moduleFor = (label: string) => {
    const hsm = config.hsms.find((h) => h.partitionLabels.includes(label));
    if (!hsm) throw new Error(`partition ${label} is not in the pool file`);
    return modules(hsm.module);
  };
  const session = async (label: string) => {
    const hit = sessions.get(label);
    if (hit) return hit;
    const s = await openPartition(moduleFor(label), config, label);
    sessions.set(label, s);
    return s;
  };
  return {
    async ensure(label) {
      await ensurePartitionToken(moduleFor(label), config, label);
    },
    async configureBaseline(label, profile) {
      return configureBaseline(await session(label), profile);
    },
    async rotate(label, current, profile) {
      return rotateKey(await session(label), current, profile);
    },
    async retire(label, version) {
      await retireKeyVersion(await session(label), version);
    },
    async applyProfile(label, currentWrap, profile) {
      await applyProfileToKeys(await session(label), currentWrap, profile);
    },
    async freeze(label) {
      await freezePartition(await session(label));
    },
    async thaw(label, current, profile) {
      await thawPartition(await session(label), current, profile);
    },
    async wipe(label) {
      await wipePartition(await session(label));
      await sessions.get(label)?.close();
      sessions.delete(label);
    },
    async close() {
      for (const s of sessions.values()) await s.close();
      sessions.clear();
    },
  };
}
