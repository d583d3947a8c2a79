import { AccessFeatures, AccessRisk, NetworkFeatures, WorkloadRisk } from '../../schemas/types';
import { tf } from '../backend';
import { PairMemory, accessVector, cloneMemory, newPairMemory, remember, scale } from '../feature-spec';
import { PRIMARY_HORIZON, pairKey } from '../access/dataset';
import { predictedAccessTime, toProbabilities } from '../access/predict';
import { SeqNet, runSeqNet, stepSeqNet, zeroState } from '../nn/seqnet';
import { LoadedModels } from '../store';
import { summariseForecast } from '../workload/forecaster';
import { NetMemory, activeIndicators, cloneNetMemory, forecastBase, netVector, newNetMemory, rememberNet, securityRisk } from '../workload/spec';

/**
 * The scoring core: incremental and batched. Each key (a user-VM pair, a client network) keeps
 * its recurrent state (the GRU's hidden vector and the feature memory), so a new window costs
 * one recurrent step; windows of many keys go through one batched step. A record whose window
 * is not newer than the key's last is a redelivery and is not scored again. A new model is
 * swapped in between batches: each key's state is rebuilt by running the new model over the
 * key's retained windows, so no record is lost or scored twice across the swap.
 * No I/O here; the role (role.ts) feeds it Kafka batches.
 */
interface KeyState<F, M> {
  h: Float32Array;
  memory: M;
  lastWindowStart: number;
  /** Recent windows, for rebuilding the state under a new model. */
  history: F[];
}

type AccessState = KeyState<AccessFeatures, PairMemory>;
type NetState = KeyState<NetworkFeatures, NetMemory>;

export interface ScorerStats {
  accessKeys: number;
  networkKeys: number;
  scored: number;
  duplicates: number;
  steps: number;
  modelVersion: string;
}

export interface ScorerOptions {
  /** Windows kept per key for re-warming the state after a model swap (default two weeks of hours). */
  historyLimit?: number;
}

export interface Snapshot {
  access: Map<string, AccessState | undefined>;
  network: Map<string, NetState | undefined>;
  /** Warm-up outputs handed out in the batch: an abort puts them back for the redo. */
  taken?: Map<string, AccessRisk | WorkloadRisk>;
}

export class Scorer {
  private models: LoadedModels;
  private readonly access = new Map<string, AccessState>();
  private readonly network = new Map<string, NetState>();
  private readonly historyLimit: number;
  private counts = { scored: 0, duplicates: 0, steps: 0 };
  private snapshot: Snapshot | null = null;
  /** Outputs computed while warming up, by window, for records the group has not committed yet. */
  private readonly pending = new Map<string, AccessRisk | WorkloadRisk>();

  constructor(models: LoadedModels, o: ScorerOptions = {}) {
    this.models = models;
    this.historyLimit = o.historyLimit ?? 336;
  }

  get modelVersion(): string {
    return this.models.metadata.version;
  }

  stats(): ScorerStats {
    return { accessKeys: this.access.size, networkKeys: this.network.size, ...this.counts, modelVersion: this.modelVersion };
  }

  /**
   * Remember the state of the keys the next scoring call touches, so an aborted batch can be
   * undone: `begin()`, score, `end()` gives the undo record; `restore(undo)` puts the keys back.
   */
  begin(): void {
    this.snapshot = { access: new Map(), network: new Map() };
  }

  end(): Snapshot {
    const s = this.snapshot ?? { access: new Map(), network: new Map() };
    this.snapshot = null;
    return s;
  }

  rollback(): void {
    const s = this.snapshot;
    if (s) this.restore(s);
    this.snapshot = null;
  }

  restore(s: Snapshot): void {
    for (const [k, v] of s.access) {
      if (v) this.access.set(k, v);
      else this.access.delete(k);
    }
    for (const [k, v] of s.network) {
      if (v) this.network.set(k, v);
      else this.network.delete(k);
    }
    for (const [k, v] of s.taken ?? []) this.pending.set(k, v);
  }

  commit(): void {
    this.snapshot = null;
  }

  private save<S extends AccessState | NetState>(map: Map<string, S>, snap: Map<string, S | undefined> | undefined, key: string, clone: (s: S) => S): void {
    if (!snap || snap.has(key)) return;
    const cur = map.get(key);
    snap.set(key, cur ? clone(cur) : undefined);
  }

  /** Scores access windows; returns one AccessRisk per new window, in input order per key. */
  scoreAccess(batch: readonly AccessFeatures[]): AccessRisk[] {
    const m = this.models.access;
    const out: AccessRisk[] = [];
    for (const round of rounds(batch, (f) => pairKey(f.userId, f.vmId))) {
      const fresh: { f: AccessFeatures; st: AccessState; x: number[] }[] = [];
      for (const f of round) {
        const key = pairKey(f.userId, f.vmId);
        this.save(this.access, this.snapshot?.access, key, cloneAccess);
        let st = this.access.get(key);
        if (!st) this.access.set(key, (st = { h: new Float32Array(m.net.shape.units), memory: newPairMemory(), lastWindowStart: -Infinity, history: [] }));
        if (f.windowStart <= st.lastWindowStart) {
          const cached = this.takePending(pendingKey(key, f.windowEnd));
          if (cached) out.push(cached as AccessRisk);
          else this.counts.duplicates++;
          continue;
        }
        remember(st.memory, f);
        st.lastWindowStart = f.windowStart;
        pushBounded(st.history, f, this.historyLimit);
        fresh.push({ f, st, x: scale(m.scaler, accessVector(f, st.memory)) });
      }
      if (!fresh.length) continue;
      const raw = this.step(m.net, fresh.map((r) => r.x), fresh.map((r) => r.st));
      fresh.forEach(({ f }, i) => {
        const probs = toProbabilities(raw[i]);
        const scores: Record<string, number> = {};
        m.horizons.forEach((h, k) => (scores[h] = probs[k]));
        const primary = Math.max(0, m.horizons.indexOf(PRIMARY_HORIZON));
        out.push({
          eventId: `risk/${f.userId}/${f.vmId}/${f.windowEnd}/${this.modelVersion}`,
          timestamp: f.windowEnd,
          userId: f.userId,
          vmId: f.vmId,
          riskScore: probs[primary],
          horizon: m.horizons[primary],
          horizonScores: scores,
          predictedAccessTime: predictedAccessTime(f.windowEnd, probs, m.horizonHours),
          modelVersion: this.modelVersion,
        });
      });
      this.counts.scored += fresh.length;
    }
    return out;
  }

  /** Forecasts for network windows; empty when the model has no forecaster. */
  scoreNetwork(batch: readonly NetworkFeatures[]): WorkloadRisk[] {
    const w = this.models.workload;
    if (!w) return [];
    const out: WorkloadRisk[] = [];
    for (const round of rounds(batch, (f) => f.clientNetworkId)) {
      const fresh: { f: NetworkFeatures; st: NetState; x: number[]; risk: number; base: number[] }[] = [];
      for (const f of round) {
        this.save(this.network, this.snapshot?.network, f.clientNetworkId, cloneNet);
        let st = this.network.get(f.clientNetworkId);
        if (!st) this.network.set(f.clientNetworkId, (st = { h: new Float32Array(w.net.shape.units), memory: newNetMemory(w.windowMs, w.hw), lastWindowStart: -Infinity, history: [] }));
        if (f.windowStart <= st.lastWindowStart) {
          const cached = this.takePending(pendingKey(f.clientNetworkId, f.windowEnd));
          if (cached) out.push(cached as WorkloadRisk);
          else this.counts.duplicates++;
          continue;
        }
        const an = rememberNet(st.memory, f);
        st.lastWindowStart = f.windowStart;
        pushBounded(st.history, f, this.historyLimit * 4);
        fresh.push({ f, st, x: scale(w.scaler, netVector(f, st.memory, an)), risk: securityRisk(st.memory, an), base: forecastBase(st.memory) });
      }
      if (!fresh.length) continue;
      const raw = this.step(w.net, fresh.map((r) => r.x), fresh.map((r) => r.st));
      fresh.forEach(({ f, risk, base }, i) => {
        const hourly = raw[i].map((d, h) => Math.max(0, Math.expm1(base[h] + (w.residualScale ?? 1) * d)));
        const s = summariseForecast(f.windowEnd, hourly);
        out.push({
          eventId: `workload/${f.clientNetworkId}/${f.windowEnd}/${this.modelVersion}`,
          timestamp: f.windowEnd,
          clientNetworkId: f.clientNetworkId,
          horizon: 'P1D',
          predictedCryptoOps: s.total,
          predictedPeakOpsPerSec: s.peak,
          predictedPeakTime: s.peakTime,
          measuredOpsPerSec: f.cryptoOpsRate,
          securityRisk: risk,
          threatIndicators: activeIndicators(f),
          modelVersion: this.modelVersion,
        });
      });
      this.counts.scored += fresh.length;
    }
    return out;
  }

  /**
   * Rebuilds state after a restart from the history of the feature topics (read up to their
   * end, possibly past what the group committed). Nothing is emitted. Outputs are kept for the
   * windows the group has not committed (`uncommitted`: `pendingKey`s; without it, each key's last
   * `keepLast`), so when the group redelivers a window folded in here, `score*` returns its output
   * instead of dropping it as a duplicate.
   */
  warmUp(access: readonly AccessFeatures[], network: readonly NetworkFeatures[], uncommitted?: ReadonlySet<string>, keepLast = 48): void {
    const keep = <R>(outs: R[], key: (r: R) => string, pk: (r: R) => string) => {
      if (uncommitted) return outs.filter((r) => uncommitted.has(pk(r)));
      const byKey = new Map<string, R[]>();
      for (const r of outs) byKey.set(key(r), [...(byKey.get(key(r)) ?? []), r]);
      return [...byKey.values()].flatMap((rs) => rs.slice(-keepLast));
    };
    const sortByWindow = <T extends { windowStart: number }>(xs: readonly T[]) => [...xs].sort((a, b) => a.windowStart - b.windowStart);
    const accessKey = (r: AccessRisk) => pendingKey(pairKey(r.userId, r.vmId), r.timestamp);
    const netKey = (r: WorkloadRisk) => pendingKey(r.clientNetworkId, r.timestamp);
    for (const r of keep(this.scoreAccess(sortByWindow(access)), (r) => pairKey(r.userId, r.vmId), accessKey)) this.pending.set(accessKey(r), r);
    for (const r of keep(this.scoreNetwork(sortByWindow(network)), (r) => r.clientNetworkId, netKey)) this.pending.set(netKey(r), r);
    this.counts.scored = 0;
  }

  private takePending(k: string): AccessRisk | WorkloadRisk | undefined {
    const r = this.pending.get(k);
    if (r) {
      this.pending.delete(k);
      if (this.snapshot) (this.snapshot.taken ??= new Map()).set(k, r);
    }
    return r;
  }

  /** One batched recurrent step; writes the new hidden vectors back into the states. */
  private step(net: SeqNet, xs: number[][], states: { h: Float32Array }[]): number[][] {
    const U = net.shape.units;
    const hBuf = new Float32Array(states.length * U);
    states.forEach((s, i) => hBuf.set(s.h, i * U));
    const { h, out } = tf.tidy(() => {
      const r = stepSeqNet(net, tf.tensor2d(xs), tf.tensor2d(hBuf, [states.length, U]));
      return { h: r.h, out: r.out };
    });
    const hs = h.dataSync();
    const raw = out.arraySync() as number[][];
    h.dispose();
    out.dispose();
    states.forEach((s, i) => (s.h = Float32Array.from(hs.subarray(i * U, (i + 1) * U))));
    this.counts.steps++;
    return raw;
  }

  /**
   * Swaps in a new model version between batches. Feature memories do not depend on the model;
   * the hidden vectors do, so each key's is recomputed by the new model over its retained windows.
   */
  swap(next: LoadedModels): LoadedModels {
    const prev = this.models;
    this.models = next;
    this.rewarm(next.access.net, [...this.access.values()], (st) => {
      const mem = newPairMemory();
      return st.history.map((f) => {
        remember(mem, f);
        return scale(next.access.scaler, accessVector(f, mem));
      });
    });
    const w = next.workload;
    if (w) {
      this.rewarm(w.net, [...this.network.values()], (st) => {
        const mem = newNetMemory(w.windowMs, w.hw);
        const xs = st.history.map((f) => scale(w.scaler, netVector(f, mem, rememberNet(mem, f))));
        st.memory = mem;
        return xs;
      });
    }
    return prev;
  }

  private rewarm<S extends { h: Float32Array; history: unknown[] }>(net: SeqNet, states: S[], inputs: (s: S) => number[][]): void {
    const U = net.shape.units;
    for (let i = 0; i < states.length; i += 64) {
      const part = states.slice(i, i + 64).filter((s) => s.history.length);
      for (const s of states.slice(i, i + 64)) if (!s.history.length) s.h = new Float32Array(U);
      if (!part.length) continue;
      const xs = part.map(inputs);
      // Sequences of different length: align their ends, padding the front with repeats of the
      // first window would bias the state, so run each length group separately.
      const byLen = new Map<number, number[]>();
      xs.forEach((x, k) => byLen.set(x.length, [...(byLen.get(x.length) ?? []), k]));
      for (const [len, idx] of byLen) {
        const F = net.shape.inputs;
        const buf = new Float32Array(idx.length * len * F);
        idx.forEach((k, j) => xs[k].forEach((row, t) => buf.set(row, (j * len + t) * F)));
        const h = tf.tidy(() => runSeqNet(net, tf.tensor3d(buf, [idx.length, len, F]), zeroState(net, idx.length)).h);
        const data = h.dataSync();
        h.dispose();
        idx.forEach((k, j) => (part[k].h = Float32Array.from(data.subarray(j * U, (j + 1) * U))));
      }
    }
  }

  /** The baseline the incremental path is measured against: rerun a key's whole sequence. */
  static fullRerunAccess(models: LoadedModels, windows: readonly AccessFeatures[]): number[] {
    const mem = newPairMemory();
    const xs = windows.map((f) => {
      remember(mem, f);
      return scale(models.access.scaler, accessVector(f, mem));
    });
    const net = models.access.net;
    const out = tf.tidy(() => runSeqNet(net, tf.tensor3d([xs]), zeroState(net, 1)).out);
    const raw = out.arraySync() as number[][][];
    out.dispose();
    return toProbabilities(raw[0][raw[0].length - 1]);
  }
}

/** Splits a batch into rounds holding at most one record per key, keeping each key's order. */
export function rounds<T>(batch: readonly T[], key: (t: T) => string): T[][] {
  const seen = new Map<string, number>();
  const out: T[][] = [];
  for (const r of batch) {
    const k = key(r);
    const n = seen.get(k) ?? 0;
    seen.set(k, n + 1);
    (out[n] ??= []).push(r);
  }
  return out;
}

function pushBounded<T>(xs: T[], x: T, limit: number): void {
  xs.push(x);
  if (xs.length > limit) xs.splice(0, xs.length - limit);
}

function cloneAccess(s: AccessState): AccessState {
  return { h: s.h.slice(), memory: cloneMemory(s.memory), lastWindowStart: s.lastWindowStart, history: s.history.slice() };
}

function cloneNet(s: NetState): NetState {
  return { h: s.h.slice(), memory: cloneNetMemory(s.memory), lastWindowStart: s.lastWindowStart, history: s.history.slice() };
}

/** A window's identity in the warm-up's pending outputs: its key and its end (the risk's timestamp). */
export function pendingKey(key: string, windowEnd: number): string {
  return `${key}\u0000${windowEnd}`;
}

/** The pending key of a feature window. */
export function featurePendingKey(f: AccessFeatures | NetworkFeatures): string {
  return 'clientNetworkId' in f ? pendingKey(f.clientNetworkId, f.windowEnd) : pendingKey(pairKey(f.userId, f.vmId), f.windowEnd);
}
