import { tf } from '../backend';
import { Rng } from '../sim/rng';
import { SeqNet, runSeqNet, zeroState } from './seqnet';

/**
 * Truncated back-propagation through time over whole key histories: sequences are batched,
 * aligned at their first window (as the scorer sees them), and cut into chunks; each chunk starts
 * from the state the previous chunk ended in, so training sees the same state the scorer keeps.
 */
export interface Sequence {
  /** [T][F] scaled inputs. */
  x: number[][];
  /** [T][O] targets. */
  y: number[][];
  /** [T][O] loss weights (0 = unknown label or not in the training period). */
  m: number[][];
}

export type Loss = 'bce' | 'mse';

export interface TrainOptions {
  epochs: number;
  batchSize?: number;
  chunk?: number;
  learningRate?: number;
  loss: Loss;
  seed?: number;
  /** Called after each chunk: epoch (1-based), fraction of the epoch done, running mean loss. */
  onProgress?: (epoch: number, fraction: number, loss: number) => void;
  onEpoch?: (epoch: number, loss: number, ms: number) => void;
  /**
   * Loss on data the epoch did not fit (e.g. the last day of the training period). When given,
   * the weights of the best epoch are kept and training stops after `patience` epochs without
   * improvement: with a few weeks of telemetry the net overfits otherwise.
   */
  validate?: () => number;
  patience?: number;
  /**
   * Stochastic weight averaging: from this epoch on, the weights at each epoch's end are
   * averaged, and the average is what training returns (flatter optimum: better calibrated on
   * unseen days than the last epoch's weights).
   */
  averageFrom?: number;
}

export interface TrainStats {
  epochs: number;
  lossByEpoch: number[];
  msByEpoch: number[];
  valByEpoch: number[];
  bestEpoch: number;
}

interface Batch {
  len: number;
  seqs: Sequence[];
}

function batches(seqs: Sequence[], size: number): Batch[] {
  const sorted = seqs.filter((s) => s.x.length > 0).sort((a, b) => a.x.length - b.x.length);
  const out: Batch[] = [];
  for (let i = 0; i < sorted.length; i += size) {
    const part = sorted.slice(i, i + size);
    out.push({ len: Math.max(...part.map((s) => s.x.length)), seqs: part });
  }
  return out;
}

function chunkTensors(b: Batch, from: number, to: number, F: number, O: number) {
  const B = b.seqs.length;
  const T = to - from;
  const x = new Float32Array(B * T * F);
  const y = new Float32Array(B * T * O);
  const m = new Float32Array(B * T * O);
  b.seqs.forEach((s, i) => {
    for (let t = from; t < Math.min(to, s.x.length); t++) {
      const base = (i * T + (t - from));
      x.set(s.x[t], base * F);
      y.set(s.y[t], base * O);
      m.set(s.m[t], base * O);
    }
  });
  return { x: tf.tensor3d(x, [B, T, F]), y: tf.tensor3d(y, [B, T, O]), m: tf.tensor3d(m, [B, T, O]) };
}

export function maskedLoss(kind: Loss, logits: tf.Tensor, y: tf.Tensor, m: tf.Tensor): tf.Scalar {
  const per =
    kind === 'bce'
      ? tf.sub(tf.add(tf.relu(logits), tf.log1p(tf.exp(tf.neg(tf.abs(logits))))), tf.mul(logits, y)) // stable BCE on logits
      : tf.square(tf.sub(logits, y));
  return tf.div(tf.sum(tf.mul(per, m)), tf.maximum(tf.sum(m), 1)) as tf.Scalar;
}

export async function trainSeqNet(net: SeqNet, seqs: Sequence[], o: TrainOptions): Promise<TrainStats> {
  const F = net.shape.inputs;
  const O = net.shape.outputs;
  const chunk = o.chunk ?? 96;
  const rng = new Rng(o.seed ?? 1).fork('train');
  const opt = tf.train.adam(o.learningRate ?? 0.005);
  const all = batches(seqs, o.batchSize ?? 16);
  const totalChunks = all.reduce((s, b) => s + Math.ceil(b.len / chunk), 0);
  const stats: TrainStats = { epochs: o.epochs, lossByEpoch: [], msByEpoch: [], valByEpoch: [], bestEpoch: o.epochs };
  let best = Infinity;
  let snapshot: tf.Tensor[] | null = null;
  let average: tf.Tensor[] | null = null;
  let averaged = 0;
  const varList = Object.values(net.vars);
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    const t0 = Date.now();
    let done = 0;
    let lossSum = 0;
    for (const b of rng.shuffle(all)) {
      let h = zeroState(net, b.seqs.length);
      for (let from = 0; from < b.len; from += chunk) {
        const to = Math.min(b.len, from + chunk);
        const { x, y, m } = chunkTensors(b, from, to, F, O);
        let next: tf.Tensor2D | null = null;
        const h0 = h;
        const cost = opt.minimize(
          () => {
            const r = runSeqNet(net, x, h0);
            next = tf.keep(r.h);
            return maskedLoss(o.loss, r.out, y, m);
          },
          true,
          varList,
        );
        lossSum += cost ? (await cost.data())[0] : 0;
        cost?.dispose();
        h0.dispose();
        x.dispose();
        y.dispose();
        m.dispose();
        h = next ?? zeroState(net, b.seqs.length);
        done++;
        o.onProgress?.(epoch, done / totalChunks, lossSum / done);
        await new Promise((r) => setImmediate(r));
      }
      h.dispose();
    }
    const loss = lossSum / Math.max(1, done);
    stats.lossByEpoch.push(loss);
    stats.msByEpoch.push(Date.now() - t0);
    o.onEpoch?.(epoch, loss, Date.now() - t0);
    if (o.averageFrom !== undefined && epoch >= o.averageFrom) {
      const n = ++averaged;
      const prev: tf.Tensor[] | null = average;
      average = varList.map((v, i): tf.Tensor => (prev ? tf.tidy(() => tf.add(tf.mul(prev[i], (n - 1) / n), tf.mul(v, 1 / n))) : tf.clone(v)));
      prev?.forEach((t: tf.Tensor) => t.dispose());
    }
    if (o.validate) {
      const v = o.validate();
      stats.valByEpoch.push(v);
      if (v < best - 1e-6) {
        best = v;
        stats.bestEpoch = epoch;
        snapshot?.forEach((t) => t.dispose());
        snapshot = varList.map((t) => tf.clone(t));
      } else if (epoch - stats.bestEpoch >= (o.patience ?? 3)) {
        break;
      }
    }
  }
  if (average) {
    const avg: tf.Tensor[] = average;
    varList.forEach((v, i) => v.assign(avg[i]));
    avg.forEach((t) => t.dispose());
  } else if (snapshot) {
    const saved: tf.Tensor[] = snapshot;
    varList.forEach((v, i) => v.assign(saved[i]));
  }
  (snapshot as tf.Tensor[] | null)?.forEach((t) => t.dispose());
  stats.epochs = stats.lossByEpoch.length;
  opt.dispose();
  return stats;
}

/** Mean masked loss of whole sequences, from zero state, as the scorer would run them. */
export function sequenceLoss(net: SeqNet, seqs: Sequence[], kind: Loss): number {
  const raw = predictSeqNet(net, seqs.map((s) => s.x));
  let sum = 0;
  let n = 0;
  seqs.forEach((s, i) =>
    raw[i].forEach((row, t) =>
      row.forEach((z, k) => {
        const w = s.m[t][k];
        if (!w) return;
        const y = s.y[t][k];
        sum += w * (kind === 'bce' ? Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z))) : (z - y) ** 2);
        n += w;
      }),
    ),
  );
  return n ? sum / n : 0;
}

/** Raw outputs for whole sequences, batched, from zero state: what the scorer computes step by step. */
export function predictSeqNet(net: SeqNet, xs: number[][][], batchSize = 64): number[][][] {
  const out: number[][][] = new Array(xs.length);
  const order = xs.map((x, i) => ({ i, len: x.length })).sort((a, b) => a.len - b.len);
  const F = net.shape.inputs;
  for (let k = 0; k < order.length; k += batchSize) {
    const part = order.slice(k, k + batchSize);
    const T = Math.max(1, ...part.map((p) => p.len));
    const buf = new Float32Array(part.length * T * F);
    part.forEach((p, i) => xs[p.i].forEach((row, t) => buf.set(row, (i * T + t) * F)));
    const res = tf.tidy(() => {
      const r = runSeqNet(net, tf.tensor3d(buf, [part.length, T, F]), zeroState(net, part.length));
      return r.out;
    });
    const arr = res.arraySync() as number[][][];
    res.dispose();
    part.forEach((p, i) => (out[p.i] = arr[i].slice(0, p.len)));
  }
  return out;
}
