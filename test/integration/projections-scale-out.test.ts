import { startProjections, type RunningProjections } from '../../projections/role';
import type { JsonlRecord } from '../../schemas/types';
import { createLogger } from '../../core/log';
import { byEventId, cfg, collectFeatures, isStreamInput, publish, smallTelemetry, uniqueNamespace, waitFor } from './projections-support';

jest.setTimeout(400_000);

// PROJECTIONS_TEST_LOG=1 shows each instance's warnings (retries, rebalances) on stderr.
const logFor = (instance: string) => (process.env.PROJECTIONS_TEST_LOG ? createLogger({ instance }, { level: 'warn' }) : undefined);

async function runAlone(ns: string, records: readonly JsonlRecord[]) {
  const inputs = records.filter(isStreamInput).length;
  const role = await startProjections({ config: cfg, namespace: ns, groupId: `${ns}-g`, instanceId: 'solo', idleMs: 3_600_000, log: logFor('solo') });
  const out = await collectFeatures(ns);
  try {
    await waitFor('the single instance', () => role.counters().records >= inputs, 120_000);
    const c = role.counters();
    await waitFor('its features', () => out.features.length >= c.accessFeatures + c.networkFeatures, 60_000);
    return out.features;
  } finally {
    await role.stop();
    await out.consumer.stop();
  }
}

describe('projections role scaled out', () => {
  it('given instances joining and leaving between three parts of the stream, then together they emit what one instance emits, each once', async () => {
    const records = smallTelemetry(41);
    const ref = uniqueNamespace('proj-solo');
    await publish(ref, records);
    const expected = await runAlone(ref, records);

    // Three parts by event time; the tables (vm-state, jobs) go with the first.
    const t = records.map((r) => (r.value as { timestamp: number }).timestamp);
    const [lo, hi] = [Math.min(...t), Math.max(...t)];
    const cut = (f: number) => lo + (hi - lo) * f;
    const part = (a: number, b: number) => records.filter((r) => !isStreamInput(r) ? a === 0 : (r.value as { timestamp: number }).timestamp >= cut(a) && (b === 1 || (r.value as { timestamp: number }).timestamp < cut(b)));
    const parts = [part(0, 0.4), part(0.4, 0.7), part(0.7, 1)];
    expect(parts.reduce((n, p) => n + p.length, 0)).toBe(records.length);
    const inputsUpTo = (k: number) => parts.slice(0, k + 1).flat().filter(isStreamInput).length;

    const ns = uniqueNamespace('proj-many');
    await publish(ns, parts[0]);
    const out = await collectFeatures(ns);
    const roles = new Map<string, RunningProjections>();
    // A processor that stops on an error fails the test with that error, not with a timeout.
    const stoppedWith: string[] = [];
    const start = async (id: string) => {
      const role = await startProjections({ config: cfg, namespace: ns, groupId: `${ns}-g`, instanceId: id, idleMs: 3_600_000, log: logFor(id) });
      role.finished.catch((e: unknown) => stoppedWith.push(`${id}: ${e instanceof Error ? e.message : String(e)}`));
      roles.set(id, role);
    };
    const alive = () => {
      if (stoppedWith.length) throw new Error(`a projections processor stopped: ${stoppedWith.join('; ')}`);
      return true;
    };
    const processed = (): number => {
      alive();
      return [...roles.values()].reduce((n, r) => n + r.counters().records, 0);
    };
    try {
      await start('a');
      await waitFor('part one', () => processed() >= inputsUpTo(0), 120_000);
      // Four members: 6 partitions do not divide among them, so co-partitioning is the assigner's doing.
      await Promise.all(['b', 'c', 'd'].map(start));
      await Promise.all([...roles.values()].map((r) => r.ready));
      await publish(ns, parts[1]);
      await waitFor('part two', () => processed() >= inputsUpTo(1), 120_000);
      // b and c leave: their partitions go back to a and d, whose state for them is now stale.
      await roles.get('b')!.stop();
      await roles.get('c')!.stop();
      await publish(ns, parts[2]);
      await waitFor('every feature', () => alive() && out.features.length >= expected.length, 180_000);
      await new Promise((r) => setTimeout(r, 2000));

      const ids = out.features.map((f) => f.eventId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(byEventId(out.features)).toEqual(byEventId(expected));
      const restores = roles.get('a')!.counters().restores + roles.get('d')!.counters().restores;
      process.stderr.write(`projections scale-out: changelog restores after rebalances ${restores}\n`);
    } finally {
      await out.consumer.stop();
      await Promise.all([...roles.values()].map((r) => r.stop()));
    }
  });
});
