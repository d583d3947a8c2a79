import { UnavailableError } from '../core/errors';
import { KeyNotFoundError, TokenNotFoundError } from './errors';
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

/**
 * PartitionOps over one PKCS#11 module per HSM's library path; sessions kept open per label.
 *
 * An HSM that goes away fails every call as UnavailableError (retriable), and the caller retries
 * the whole record. Measured on SoftHSM2: calls keep failing even after the token is back, until
 * the module is re-initialised, so a failure drops the module's cached sessions and re-initialises
 * it, and the next attempt starts fresh.
 */
export function pkcs11PartitionOps(modules: (modulePath: string) => HsmModule, config: PoolConfig): PartitionOps {
  const sessions = new Map<string, HsmSession>();
  const modulePathOf = (label: string) => {
    const hsm = config.hsms.find((h) => h.partitionLabels.includes(label));
    if (!hsm) throw new Error(`partition ${label} is not in the pool file`);
    return hsm.module;
  };
  const moduleFor = (label: string) => modules(modulePathOf(label));
  const session = async (label: string) => {
    const hit = sessions.get(label);
    if (hit) return hit;
    const s = await openPartition(moduleFor(label), config, label);
    sessions.set(label, s);
    return s;
  };
  // Listing tokens is what fails while a token is gone (C_GetTokenInfo); a search does not.
  const tokenShows = async (label: string) => (await moduleFor(label).listTokens()).some((t) => t.initialized && t.label === label);

  /** Best effort: a re-initialisation refused (keys being generated) or failing (HSM still gone) is retried next attempt. */
  const reset = async (label: string) => {
    const path = modulePathOf(label);
    for (const [l, s] of [...sessions]) {
      if (modulePathOf(l) !== path) continue;
      sessions.delete(l);
      await s.close().catch(() => undefined);
    }
    await moduleFor(label)
      .reinitialize()
      .catch(() => undefined);
  };

  /**
   * Every partition these operations touch was allocated in the event store and made by ensure(),
   * so its token or key not showing is an outage while the token does not answer or is missing;
   * a key missing from a token that answers is a genuine fault (not retriable).
   */
  const classify = async (label: string, err: unknown): Promise<unknown> => {
    if (err instanceof TokenNotFoundError) return new UnavailableError('hsm', `partition token ${label} is not showing (${err.message})`, err);
    if (!(err instanceof KeyNotFoundError)) return err;
    try {
      if (await tokenShows(label)) return err;
      return new UnavailableError('hsm', `partition token ${label} is not showing (${err.message})`, err);
    } catch (probe) {
      return new UnavailableError('hsm', `partition token ${label} does not answer (${err.message}; ${probe instanceof Error ? probe.message : String(probe)})`, err);
    }
  };

  const guarded = async <T>(label: string, op: (s: HsmSession) => Promise<T>, opts: { searches?: boolean } = {}): Promise<T> => {
    try {
      const out = await op(await session(label));
      // SoftHSM2 answers a search on a vanished token with "no objects", so a retire, wipe,
      // freeze or thaw would pass for done having touched nothing: the token must still answer.
      if (opts.searches && !(await tokenShows(label))) throw new UnavailableError('hsm', `partition token ${label} is not showing`);
      return out;
    } catch (err) {
      const e = await classify(label, err);
      if (e instanceof UnavailableError) await reset(label);
      throw e;
    }
  };

  return {
    async ensure(label) {
      try {
        await ensurePartitionToken(moduleFor(label), config, label);
      } catch (err) {
        if (err instanceof UnavailableError) await reset(label);
        throw err;
      }
    },
    async configureBaseline(label, profile) {
      return guarded(label, (s) => configureBaseline(s, profile));
    },
    async rotate(label, current, profile) {
      return guarded(label, (s) => rotateKey(s, current, profile));
    },
    async retire(label, version) {
      await guarded(label, (s) => retireKeyVersion(s, version), { searches: true });
    },
    async applyProfile(label, currentWrap, profile) {
      await guarded(label, (s) => applyProfileToKeys(s, currentWrap, profile));
    },
    async freeze(label) {
      await guarded(label, (s) => freezePartition(s), { searches: true });
    },
    async thaw(label, current, profile) {
      await guarded(label, (s) => thawPartition(s, current, profile), { searches: true });
    },
    async wipe(label) {
      await guarded(label, (s) => wipePartition(s), { searches: true });
      await sessions.get(label)?.close();
      sessions.delete(label);
    },
    async close() {
      for (const s of sessions.values()) await s.close();
      sessions.clear();
    },
  };
}
