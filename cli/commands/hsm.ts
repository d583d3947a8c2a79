import { loadConfig } from '../../core/config';
import { UnavailableError } from '../../core/errors';
import { EsdbEventStore } from '../../eventstore/client';
import { loadStream } from '../../eventstore/handler';
import { allocationDecider, capacityOf, hsmDecider, type AllocationState } from '../../hsm/allocation';
import { allocationStream, hsmStream, POOL_STREAM } from '../../hsm/events';
import { poolDecider } from '../../hsm/pool-watch';
import { openPkcs11Module } from '../../hsm/pkcs11';
import { loadPool } from '../../hsm/role';
import { useLocalSoftHsm } from '../../stack/softhsm';
import { has, parseArgs, str, UsageError } from '../args';

export const summary = 'HSM pool: tiers, HSMs, partitions and current allocations';

const USAGE = 'foresight hsm pool [--pool FILE] [--json]';
export const help = `usage: ${USAGE}

pool   prints the pool file's tiers and HSMs, each partition's owner (rebuilt from the hsm-*
       and allocation-* event streams) and whether its token exists, and every client
       network's allocation: partitions, capacity, risk level, quarantine, key versions.
       --pool FILE   the pool file (default: FORESIGHT_HSM_POOL, else FORESIGHT_HOME/hsm-pool.yaml,
                     else hsm/pool.example.yaml)
       --json        one JSON document

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

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: ['pool'], switches: ['json'] }, USAGE);
  const [sub, ...rest] = args.positional;
  if (sub !== 'pool' || rest.length > 0) throw new UsageError(`expected the subcommand "pool"; usage: ${USAGE}`);
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
    const poolState = (await loadStream(store, POOL_STREAM, poolDecider)).state;
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
    console.log(JSON.stringify({ poolFile: file, tiers: pool.tiers, planner: pool.planner, policyRules: rules.map((r) => r.id), tiersBelowReserve: lowTiers, hsms, allocations }, null, 2));
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
