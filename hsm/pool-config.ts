import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../core/errors';

/**
 * The HSM pool, declared in a YAML or JSON file and validated once at start-up. Pure apart from
 * `loadPoolConfig` reading the file: `parsePoolConfig` takes the text so tests need no disk.
 */
export interface Tier {
  name: string;
  /** Sustained crypto operations per second one partition of this tier gets. */
  partitionOpsPerSecond: number;
  latencyClass: 'low' | 'standard' | 'bulk';
  /** Position in the declared list: lower is cheaper. */
  rank: number;
}

export interface HsmSpec {
  id: string;
  tier: string;
  /** PKCS#11 library; the pool's default (PKCS11_MODULE) when omitted. */
  module: string;
  /** How many partitions (client allocations) this HSM holds: Luna allows 5-100. */
  partitionCapacity: number;
  /** Partition token labels, derived as <id>-p01, <id>-p02, ... */
  partitionLabels: string[];
  /** The HSM's own token (e.g. the stack's hsm-gold-1), checked for health; not a partition. */
  adminToken?: string;
  /**
   * Initialise missing partition tokens in a free slot (SoftHSM2), each with its own random
   * officer (SO) PIN and user PIN in 0600 files; production HSMs have them pre-created.
   */
  createPartitions: boolean;
}

export interface PlannerSettings {
  /** Allocate this long before the predicted peak: a new partition is not instant. */
  leadTimeMs: number;
  /** Capacity to provide per unit of predicted peak demand (1.25 = 25% buffer). */
  headroom: number;
  /** Scale in only when both forecast and measured demand are under this share of capacity. */
  scaleInBelow: number;
  /** No scale-in within this long of the last change (hysteresis in time as well as level). */
  minHoldMs: number;
  /** At or under this demand (ops/s), forecast and measured, a client needs no partition. */
  releaseBelowOps: number;
  /**
   * Say the pool must grow when a tier's free partitions fall below this share of its capacity:
   * a new HSM takes minutes to hours, so the warning must come before the first refusal.
   */
  reserveFraction: number;
}

export interface PoolConfig {
  /** Names the pool's own stream, hsm-pool.<poolId>. */
  poolId: string;
  tiers: Tier[];
  hsms: HsmSpec[];
  planner: PlannerSettings;
  /** Partition PIN files live here: <secretsDir>/partitions/<label>.pin. */
  secretsDir: string;
  policyFile?: string;
}

const LATENCY = ['low', 'standard', 'bulk'] as const;
const ID = /^[a-z0-9][a-z0-9-]{0,26}$/;

class Checker {
  constructor(private readonly source: string) {}
  fail(at: string, msg: string): never {
    throw new ConfigError(`${this.source}: ${at} ${msg}`);
  }
  obj(v: unknown, at: string): Record<string, unknown> {
    if (!v || typeof v !== 'object' || Array.isArray(v)) this.fail(at, 'must be a mapping');
    return v as Record<string, unknown>;
  }
  arr(v: unknown, at: string): unknown[] {
    if (!Array.isArray(v) || v.length === 0) this.fail(at, 'must be a non-empty list');
    return v as unknown[];
  }
  str(v: unknown, at: string): string {
    if (typeof v !== 'string' || v.trim() === '') this.fail(at, 'must be a non-empty string');
    return (v as string).trim();
  }
  num(v: unknown, at: string, min: number, max = Number.POSITIVE_INFINITY, dflt?: number): number {
    if (v === undefined && dflt !== undefined) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      this.fail(at, `must be a number from ${min}${max === Number.POSITIVE_INFINITY ? ' up' : ` to ${max}`}, got ${JSON.stringify(v)}`);
    }
    return v as number;
  }
  only(o: Record<string, unknown>, at: string, keys: string[]): void {
    for (const k of Object.keys(o)) if (!keys.includes(k)) this.fail(`${at}.${k}`, `is not a known setting (known: ${keys.join(', ')})`);
  }
}

export interface PoolDefaults {
  /** PKCS11_MODULE from core/config. */
  module: string;
  /** FORESIGHT_HOME: relative secret paths resolve against it. */
  home: string;
}

export function parsePoolConfig(text: string, source: string, defaults: PoolDefaults): PoolConfig {
  const c = new Checker(source);
  let doc: unknown;
  try {
    doc = source.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${source}: not valid ${source.endsWith('.json') ? 'JSON' : 'YAML'} (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`);
  }
  const root = c.obj(doc, 'the file');
  c.only(root, 'top level', ['poolId', 'module', 'secretsDir', 'policyFile', 'tiers', 'hsms', 'planner']);
  const poolId = root.poolId === undefined ? 'default' : c.str(root.poolId, 'poolId');
  if (!ID.test(poolId)) c.fail('poolId', `"${poolId}" must be lower-case letters, digits and dashes`);
  const module = root.module === undefined ? defaults.module : c.str(root.module, 'module');
  const secretsDir = path.resolve(defaults.home, root.secretsDir === undefined ? 'secrets' : c.str(root.secretsDir, 'secretsDir'));

  const tiers = c.arr(root.tiers, 'tiers').map((t, i): Tier => {
    const at = `tiers[${i}]`;
    const o = c.obj(t, at);
    c.only(o, at, ['name', 'partitionOpsPerSecond', 'latencyClass']);
    const name = c.str(o.name, `${at}.name`);
    if (!ID.test(name)) c.fail(`${at}.name`, `"${name}" must be lower-case letters, digits and dashes`);
    const latency = o.latencyClass === undefined ? 'standard' : c.str(o.latencyClass, `${at}.latencyClass`);
    if (!(LATENCY as readonly string[]).includes(latency)) c.fail(`${at}.latencyClass`, `must be one of ${LATENCY.join(', ')}`);
    return {
      name,
      partitionOpsPerSecond: c.num(o.partitionOpsPerSecond, `${at}.partitionOpsPerSecond`, 1),
      latencyClass: latency as Tier['latencyClass'],
      rank: i,
    };
  });
  const tierNames = tiers.map((t) => t.name);
  if (new Set(tierNames).size !== tierNames.length) c.fail('tiers', 'has duplicate names');
  for (let i = 1; i < tiers.length; i++) {
    if (tiers[i].partitionOpsPerSecond <= tiers[i - 1].partitionOpsPerSecond) {
      c.fail(`tiers[${i}]`, 'must be listed cheapest first, each with more partitionOpsPerSecond than the one before');
    }
  }

  const hsms = c.arr(root.hsms, 'hsms').map((h, i): HsmSpec => {
    const at = `hsms[${i}]`;
    const o = c.obj(h, at);
    c.only(o, at, ['id', 'tier', 'module', 'partitionCapacity', 'adminToken', 'createPartitions']);
    const id = c.str(o.id, `${at}.id`);
    if (!ID.test(id)) c.fail(`${at}.id`, `"${id}" must be 1-27 lower-case letters, digits and dashes (it prefixes 32-character token labels)`);
    if (id === 'pool') c.fail(`${at}.id`, '"pool" is reserved (hsm-pool.<poolId> streams hold the pools\' own events)');
    const tier = c.str(o.tier, `${at}.tier`);
    if (!tierNames.includes(tier)) c.fail(`${at}.tier`, `"${tier}" is not a declared tier (declared: ${tierNames.join(', ')})`);
    const cap = c.num(o.partitionCapacity, `${at}.partitionCapacity`, 1, 100);
    if (!Number.isInteger(cap)) c.fail(`${at}.partitionCapacity`, 'must be a whole number');
    const createPartitions = o.createPartitions === undefined ? false : o.createPartitions === true;
    if (o.createPartitions !== undefined && typeof o.createPartitions !== 'boolean') c.fail(`${at}.createPartitions`, 'must be true or false');
    return {
      id,
      tier,
      module: o.module === undefined ? module : c.str(o.module, `${at}.module`),
      partitionCapacity: cap,
      partitionLabels: Array.from({ length: cap }, (_, k) => `${id}-p${String(k + 1).padStart(2, '0')}`),
      adminToken: o.adminToken === undefined ? undefined : c.str(o.adminToken, `${at}.adminToken`),
      createPartitions,
    };
  });
  const ids = hsms.map((h) => h.id);
  const dup = ids.find((id, i) => ids.indexOf(id) !== i);
  if (dup) c.fail('hsms', `has two HSMs with id "${dup}"`);

  const p = root.planner === undefined ? {} : c.obj(root.planner, 'planner');
  c.only(p, 'planner', ['leadTimeMinutes', 'headroom', 'scaleInBelow', 'minHoldMinutes', 'releaseBelowOps', 'reserveFraction']);
  const planner: PlannerSettings = {
    leadTimeMs: c.num(p.leadTimeMinutes, 'planner.leadTimeMinutes', 0, 7 * 24 * 60, 30) * 60_000,
    headroom: c.num(p.headroom, 'planner.headroom', 1, 10, 1.25),
    scaleInBelow: c.num(p.scaleInBelow, 'planner.scaleInBelow', 0, 0.95, 0.5),
    minHoldMs: c.num(p.minHoldMinutes, 'planner.minHoldMinutes', 0, 7 * 24 * 60, 60) * 60_000,
    releaseBelowOps: c.num(p.releaseBelowOps, 'planner.releaseBelowOps', 0, Number.POSITIVE_INFINITY, 1),
    reserveFraction: c.num(p.reserveFraction, 'planner.reserveFraction', 0, 0.9, 0.2),
  };
  const policyFile = root.policyFile === undefined ? undefined : path.resolve(path.dirname(source), c.str(root.policyFile, 'policyFile'));
  return { poolId, tiers, hsms, planner, secretsDir, policyFile };
}

export function loadPoolConfig(file: string, defaults: PoolDefaults): PoolConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new ConfigError(`pool file ${file} cannot be read; pass --pool FILE or set FORESIGHT_HSM_POOL`);
  }
  return parsePoolConfig(text, file, defaults);
}

export function tierOf(config: PoolConfig, name: string): Tier {
  const t = config.tiers.find((x) => x.name === name);
  if (!t) throw new ConfigError(`tier "${name}" is not in the pool file`);
  return t;
}

/** Where a partition token's user PIN (and its officer's PIN, `so`) lives. */
export function partitionPinFile(config: PoolConfig, label: string, so = false): string {
  return path.join(config.secretsDir, 'partitions', `${label}.${so ? 'so-pin' : 'pin'}`);
}
