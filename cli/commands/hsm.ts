import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../core/config';
import { UnavailableError } from '../../core/errors';
import { EsdbEventStore } from '../../eventstore/client';
import { loadStream } from '../../eventstore/handler';
import { allocationDecider, capacityOf, hsmDecider, type AllocationState } from '../../hsm/allocation';
import { allocationStream, hsmStream, poolStream } from '../../hsm/events';
import { poolDecider } from '../../hsm/pool-watch';
import { HsmOrchestrator } from '../../hsm/orchestrator';
import { pkcs11PartitionOps } from '../../hsm/partition-ops';
import { openPkcs11Module } from '../../hsm/pkcs11';
import type { HsmModule } from '../../hsm/ports';
import { loadPool } from '../../hsm/role';
import { useLocalSoftHsm } from '../../stack/softhsm';
import { has, parseArgs, str, UsageError, type ParsedArgs } from '../args';

export const summary = 'HSM pool: tiers, HSMs, partitions and current allocations';

const POOL_USAGE = 'foresight hsm pool [--pool FILE] [--json]';
const ADMIN_USAGE = 'foresight hsm quarantine|lift-quarantine|rotate --client-network ID [--reason TEXT] [--pool FILE]';
const USAGE = `${POOL_USAGE} | ${ADMIN_USAGE}`;
export const help = `usage:
  ${POOL_USAGE}
  ${ADMIN_USAGE}

pool   prints the pool file's tiers and HSMs, each partition's owner (rebuilt from the hsm-*
       and allocation-* event streams) and whether its token exists, and every client
       network's allocation: partitions, capacity, risk level, quarantine, key versions.
       --pool FILE   the pool file (default: FORESIGHT_HSM_POOL, else FORESIGHT_HOME/hsm-pool.yaml,
                     else hsm/pool.example.yaml)
       --json        one JSON document
quarantine        freezes every key in the client network's partitions (no use until lifted)
lift-quarantine   gives the current key versions their usage back under the risk profile
rotate            a new version of every root key now; old versions keep decrypt/verify
                  Each is recorded as PolicyActionTaken with rule id admin:<$USER>.

Reads EVENTSTORE_CONNECTION_STRING and PKCS11_MODULE (defaults: the local stack).`;

interface AllocationView {
  clientNetworkId: string;
  partitions: string[];
  capacityOpsPerSecond: number;
  riskLevel: string | null;
  auditLevel: string | null;
  quarantined: boolean;
  exhausted: { tier: string; since: string } | null;
  keys: Record<string, string>;
}

function allocationView(id: string, s: AllocationState): AllocationView {
  const keys: Record<string, string> = {};
  for (const p of s.partitions) {
    for (const [fam, k] of Object.entries(p.keys)) {
      if (k) keys[`${p.label}/${fam}`] = `v${k.current.version} (${k.versions.length} in token)`;
    }
  }
  return {
    clientNetworkId: id,
    partitions: s.partitions.map((p) => p.label),
    capacityOpsPerSecond: capacityOf(s),
    riskLevel: s.profile?.level ?? null,
    auditLevel: s.profile?.auditLevel ?? null,
    quarantined: s.quarantined !== null,
    exhausted: s.exhausted,
    keys,
  };
}

async function tokenLabels(modulePath: string): Promise<Set<string> | null> {
  try {
    const m = openPkcs11Module(modulePath);
    try {
      return new Set((await m.listTokens()).filter((t) => t.initialized).map((t) => t.label));
    } finally {
      await m.close();
    }
  } catch {
    return null; // the module is not loadable here: report tokens as unknown, not as an error
  }
}

const ADMIN_ACTIONS = { quarantine: 'quarantine', 'lift-quarantine': 'lift-quarantine', rotate: 'rotate-now' } as const;

async function admin(action: keyof typeof ADMIN_ACTIONS, args: ParsedArgs): Promise<number> {
  const id = str(args, 'client-network');
  if (!id) throw new UsageError(`--client-network is required; usage: ${ADMIN_USAGE}`);
  const cfg = loadConfig();
  const { pool } = loadPool(cfg, str(args, 'pool'));
  useLocalSoftHsm(cfg);
  const modules = new Map<string, HsmModule>();
  const ops = pkcs11PartitionOps((p) => modules.get(p) ?? modules.set(p, openPkcs11Module(p)).get(p)!, pool);
  const store = EsdbEventStore.connect(cfg.eventStore.connectionString);
  try {
    const orch = new HsmOrchestrator({ config: pool, rules: [], store, partitions: ops, publishAlert: async () => {} });
    const actor = process.env.USER || 'admin';
    const events = await orch.adminAction(id, ADMIN_ACTIONS[action], actor, str(args, 'reason') ?? `by ${actor} from the command line`, Date.now(), `cli:${randomUUID()}`);
    console.log(events.length ? `${action} ${id}: ${events.map((e) => e.type).join(', ')}` : `${action} ${id}: nothing to do (already in that state)`);
    return 0;
  } finally {
    await ops.close();
    for (const m of modules.values()) await m.close();
    await store.close();
  }
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: ['pool', 'client-network', 'reason'], switches: ['json'] }, USAGE);
  const [sub, ...rest] = args.positional;
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"; usage: ${USAGE}`);
  if (sub === 'quarantine' || sub === 'lift-quarantine' || sub === 'rotate') return admin(sub, args);
  if (sub !== 'pool') throw new UsageError(`expected pool, quarantine, lift-quarantine or rotate; usage: ${USAGE}`);
  const cfg = loadConfig();
  const { file, pool, rules } = loadPool(cfg, str(args, 'pool'));
  useLocalSoftHsm(cfg);

  const store = EsdbEventStore.connect(cfg.eventStore.connectionString);
  const owners: Record<string, string> = {};
  const allocations: AllocationView[] = [];
  const lowTiers: string[] = [];
  try {
    for (const h of pool.hsms) Object.assign(owners, (await loadStream(store, hsmStream(h.id), hsmDecider)).state.assigned);
    // Every client network the pool has decided for, including ones that hold nothing now
    // (released, or refused for lack of capacity: the pool must grow).
    const poolState = (await loadStream(store, poolStream(pool.poolId), poolDecider)).state;
    lowTiers.push(...Object.keys(poolState.low));
    const ids = new Set([...Object.values(owners), ...poolState.clients]);
    for (const id of [...ids].sort()) {
      allocations.push(allocationView(id, (await loadStream(store, allocationStream(id), allocationDecider)).state));
    }
  } catch (err) {
    if (err instanceof UnavailableError) {
      throw new UnavailableError('event store', `${cfg.eventStore.connectionString} did not answer; start it with 'npx foresight stack up' or set EVENTSTORE_CONNECTION_STRING`, err);
    }
    throw err;
  } finally {
    await store.close();
  }

  const tokensByModule = new Map<string, Set<string> | null>();
  for (const m of new Set(pool.hsms.map((h) => h.module))) tokensByModule.set(m, await tokenLabels(m));
  const hsms = pool.hsms.map((h) => {
    const tokens = tokensByModule.get(h.module);
    return {
      id: h.id,
      tier: h.tier,
      module: h.module,
      partitionCapacity: h.partitionCapacity,
      used: h.partitionLabels.filter((l) => owners[l]).length,
      partitions: h.partitionLabels.map((label) => ({
        label,
        owner: owners[label] ?? null,
        token: tokens ? (tokens.has(label) ? 'present' : 'absent') : 'unknown',
      })),
    };
  });

  if (has(args, 'json')) {
    console.log(JSON.stringify({ poolFile: file, poolId: pool.poolId, tiers: pool.tiers, planner: pool.planner, policyRules: rules.map((r) => r.id), tiersBelowReserve: lowTiers, hsms, allocations }, null, 2));
    return 0;
  }
  console.log(`HSM pool ${file}`);
  console.log(`tiers: ${pool.tiers.map((t) => `${t.name} ${t.partitionOpsPerSecond} ops/s per partition (${t.latencyClass} latency)`).join('; ')}`);
  console.log(`planner: lead ${pool.planner.leadTimeMs / 60_000} min, headroom ${pool.planner.headroom}, scale-in below ${pool.planner.scaleInBelow} after ${pool.planner.minHoldMs / 60_000} min; ${rules.length} policy rules`);
  if (lowTiers.length) console.log(`MUST GROW: tier(s) ${lowTiers.join(', ')} below the free-partition reserve`);
  console.log('');
  console.log(`${'HSM'.padEnd(14)}${'tier'.padEnd(10)}${'used/cap'.padEnd(10)}partitions (owner)`);
  for (const h of hsms) {
    const parts = h.partitions.map((p) => `${p.label}${p.owner ? `=${p.owner}` : ''}${p.token === 'absent' ? ' (no token yet)' : ''}`);
    console.log(`${h.id.padEnd(14)}${h.tier.padEnd(10)}${`${h.used}/${h.partitionCapacity}`.padEnd(10)}${parts.join(', ')}`);
  }
  console.log('');
  if (allocations.length === 0) {
    console.log('no allocations');
    return 0;
  }
  console.log(`${'client network'.padEnd(20)}${'ops/s'.padEnd(8)}${'risk'.padEnd(10)}${'state'.padEnd(13)}partitions; keys`);
  for (const a of allocations) {
    const state = a.quarantined ? 'QUARANTINED' : a.exhausted ? `short:${a.exhausted.tier}` : 'ok';
    const keys = Object.entries(a.keys).map(([k, v]) => `${k} ${v}`);
    console.log(`${a.clientNetworkId.padEnd(20)}${String(a.capacityOpsPerSecond).padEnd(8)}${(a.riskLevel ?? '-').padEnd(10)}${state.padEnd(13)}${a.partitions.join(', ')}; ${keys.join(', ')}`);
  }
  return 0;
}
