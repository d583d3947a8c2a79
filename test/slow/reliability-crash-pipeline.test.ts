/**
 * Issue 10 item 1, crash safety end to end: the pipeline's four stateful roles — projections,
 * scorer, provisioner, hsm — each its own process, over a fixed seeded input. One run goes
 * uninterrupted; the other gets the input in ten parts and, after each, a kill -9 of one role
 * (each role at least twice, at a random moment), restarted at once as a supervisor would.
 * Afterwards both hold the same: every feature and risk once (none lost, none twice), each risk
 * with the same prediction (the restarted scorer warmed up, not cold), and an event store with
 * the same streams and the same events in each, none duplicated.
 * The API role is left out: it keeps no state and consumes nothing.
 */
import { ensureDemoModel } from '../../demo/model';
import { simulate } from '../../models/sim/simulate';
import { seeded } from '../support/chaos';
import { CRASH_ROLES, isSharedStream, preparePipelineRun, settle, type CrashRole, type PipelineRun, type RoleProcess, type Snapshot } from '../support/crash-pipeline';
import { cfg, isStreamInput, publish } from '../integration/projections-support';

jest.setTimeout(1_800_000);

const CYCLES = 10;
const TINY = { users: 6, vms: 4, networks: 1, days: 4, seed: 3, epochs: 1, workloadEpochs: 1 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const POOL_WATER = /^Pool(LowWater|Recovered) /;

/** From an HSM's claim stream: how many of its partitions each network holds at the end. */
function finalHolders(events: readonly string[]): Array<[string, number]> {
  const held = new Map<string, number>();
  for (const e of events) {
    const net = (JSON.parse(e.slice(e.indexOf(' ') + 1)) as { clientNetworkId: string }).clientNetworkId;
    held.set(net, (held.get(net) ?? 0) + (e.startsWith('PartitionAssigned ') ? 1 : -1));
  }
  return [...held].filter(([, n]) => n !== 0).sort();
}

/** Per tier, low water and recovery alternate, low water first: no episode doubled by a restart. */
function poolEpisodesWellFormed(x: Snapshot): boolean {
  const last = new Map<string, string>();
  for (const [stream, events] of Object.entries(x.streams)) {
    if (!stream.startsWith('hsm-pool.')) continue;
    for (const e of events.filter((v) => POOL_WATER.test(v))) {
      const kind = e.split(' ')[0];
      const tier = (JSON.parse(e.slice(e.indexOf(' ') + 1)) as { tier: string }).tier;
      if ((last.get(tier) ?? 'PoolRecovered') === kind) return false;
      last.set(tier, kind);
    }
  }
  return true;
}

function diff(a: Snapshot, b: Snapshot): string[] {
  const out: string[] = [];
  const missing = (x: string[], y: string[]) => x.filter((v) => !y.includes(v));
  for (const k of ['features', 'risks'] as const) {
    if (missing(a[k], b[k]).length) out.push(`${k} only in the uninterrupted run: ${missing(a[k], b[k]).slice(0, 3).join(', ')}`);
    if (missing(b[k], a[k]).length) out.push(`${k} only in the crashed run: ${missing(b[k], a[k]).slice(0, 3).join(', ')}`);
  }
  for (const s of new Set([...Object.keys(a.streams), ...Object.keys(b.streams)])) {
    // The pool's low-water episodes depend on how far each network had got when another was
    // assessed (concurrency across Kafka partitions): compared for being well-formed, not equal.
    // An HSM's claims may hold a claim orphaned by a kill and freed again: what must agree is
    // who holds how many of its partitions in the end.
    const events = (x: Snapshot): unknown[] =>
      !isSharedStream(s) ? (x.streams[s] ?? []) : s.startsWith('hsm-pool.') ? (x.streams[s] ?? []).filter((e) => !POOL_WATER.test(e)).sort() : finalHolders(x.streams[s] ?? []);
    const x = JSON.stringify(events(a));
    const y = JSON.stringify(events(b));
    if (x !== y) out.push(`stream ${s}:\n  uninterrupted ${x}\n  crashed       ${y}`);
  }
  return out;
}

describe('reliability: every role killed with SIGKILL at random points', () => {
  it('given ten kill -9 cycles across projections, scorer, provisioner and hsm, then features, risks and the event store equal an uninterrupted run over the same input', async () => {
    const model = await ensureDemoModel(cfg.home, TINY, () => undefined);
    const records = simulate({ users: 12, vms: 5, networks: 2, days: 3, seed: 21 }).records;
    const tables = records.filter((r) => !isStreamInput(r));
    const stream = records.filter(isStreamInput).sort((x, y) => x.value.timestamp - y.value.timestamp);
    // The clock stays an hour after the last record: every record is plausible, none is stale,
    // nothing expires by the wall clock, so both runs decide on the records' own time alone.
    const clockAt = Math.max(...records.map((r) => r.value.timestamp)) + 3_600_000;
    const random = seeded(42);
    const runs: PipelineRun[] = [];
    try {
      // Uninterrupted.
      const ref = await preparePipelineRun('ref', { modelDir: model.dir, clockAt });
      runs.push(ref);
      await publish(ref.namespace, tables);
      const refRoles = CRASH_ROLES.map((r) => ref.start(r));
      await Promise.all(refRoles.map((p) => p.started));
      await publish(ref.namespace, stream);
      const want = await settle(ref, { stableMs: 45_000, timeoutMs: 600_000 });
      await Promise.all(refRoles.map((p) => p.kill('SIGTERM')));

      // Crashed: ten parts, a kill -9 after each.
      const run = await preparePipelineRun('kill', { modelDir: model.dir, clockAt });
      runs.push(run);
      await publish(run.namespace, tables);
      const live = new Map<CrashRole, RoleProcess>(CRASH_ROLES.map((r) => [r, run.start(r)]));
      await Promise.all([...live.values()].map((p) => p.started));
      // Each role at least twice, in a seeded order.
      const victims: CrashRole[] = [...CRASH_ROLES, ...CRASH_ROLES, ...CRASH_ROLES].slice(0, Math.max(CYCLES, 8));
      for (let i = victims.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [victims[i], victims[j]] = [victims[j], victims[i]];
      }
      const kills: Array<{ role: CrashRole; afterMs: number }> = [];
      const part = Math.ceil(stream.length / CYCLES);
      for (let k = 0; k < CYCLES; k++) {
        await publish(run.namespace, stream.slice(k * part, (k + 1) * part));
        const role = victims[k];
        const victim = live.get(role)!;
        // At a random moment of its work on the part just published (a restarted one first
        // finishes starting, so the kill lands in its processing, not in its start-up).
        await victim.started;
        const afterMs = Math.floor(random() * 2500);
        await sleep(afterMs);
        await victim.kill('SIGKILL');
        kills.push({ role, afterMs });
        live.set(role, run.start(role));
      }
      await Promise.all([...live.values()].map((p) => p.started));
      const got = await settle(run, { stableMs: 45_000, timeoutMs: 900_000 });
      process.stdout.write(`crash pipeline: ${stream.length} telemetry records, kills ${JSON.stringify(kills)}\n`);
      process.stdout.write(
        `crash pipeline: ${want.features.length} features, ${want.risks.length} risks, ${Object.keys(want.streams).length} streams, ${Object.values(want.streams).flat().length} events\n`,
      );

      // The comparison means something: there is work in every stage.
      expect(want.features.length).toBeGreaterThan(100);
      expect(want.risks.length).toBeGreaterThan(100);
      expect(Object.keys(want.streams).some((s) => s.startsWith('credential-'))).toBe(true);
      expect(Object.keys(want.streams).some((s) => s.startsWith('allocation-'))).toBe(true);
      // None twice, none lost, the same decisions.
      expect(new Set(got.features).size).toBe(got.features.length);
      expect(new Set(got.risks.map((r) => r.split(' ')[0])).size).toBe(got.risks.length);
      expect(got.duplicateEventIds).toBe(0);
      expect({ dlq: got.dlq, late: got.late }).toEqual({ dlq: 0, late: want.late });
      expect(want.dlq).toBe(0);
      expect(diff(want, got)).toEqual([]);
      expect(poolEpisodesWellFormed(got)).toBe(true);
      await Promise.all([...live.values()].map((p) => p.kill('SIGTERM')));
    } finally {
      for (const r of runs) await r.dispose();
    }
  });
});
