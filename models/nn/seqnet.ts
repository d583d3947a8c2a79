import { tf } from '../backend';
import { Rng } from '../sim/rng';

/**
 * A small recurrent net written with plain tf ops: a GRU layer, then a dense head that reads
 * the hidden state and the current input. Owning the cell means the full-sequence pass
 * (training, evaluation) and the one-step pass (the incremental scorer) are the same
 * arithmetic, and the weights save as plain tf.io weight specs on any backend.
 */
export interface SeqNetShape {
  inputs: number;
  units: number;
  hidden: number;
  outputs: number;
}

export interface SeqNet {
  shape: SeqNetShape;
  vars: Record<string, tf.Variable>;
}

const NAMES = ['W', 'U', 'b', 'D1', 'd1', 'D2', 'd2', 'L'] as const;

function glorot(rng: Rng, rows: number, cols: number): tf.Tensor {
  const lim = Math.sqrt(6 / (rows + cols));
  const a = new Float32Array(rows * cols);
  for (let i = 0; i < a.length; i++) a[i] = rng.uniform(-lim, lim);
  return tf.tensor2d(a, [rows, cols]);
}

export interface SeqNetInit {
  /** Initial output bias, one per output or one for all. */
  outputBias?: number | number[];
  /** Shrinks the hidden head's initial weights, so the net starts near its linear part. */
  outputScale?: number;
  /** Initial linear path from inputs to outputs, [outputs][inputs] (e.g. a fitted logistic regression). */
  linear?: number[][];
}

/**
 * The head is a linear map of the input plus a ReLU layer over the hidden state and input.
 * Starting the linear part at a fitted logistic regression makes the recurrent part learn what
 * the present window cannot tell.
 */
export function createSeqNet(shape: SeqNetShape, seed = 1, init0: SeqNetInit = {}): SeqNet {
  const outputBias = init0.outputBias ?? 0;
  const outputScale = init0.outputScale ?? 1;
  const rng = new Rng(seed).fork('seqnet');
  const { inputs: F, units: U, hidden: H, outputs: O } = shape;
  const init: Record<string, tf.Tensor> = {
    W: glorot(rng, F, 3 * U),
    U: glorot(rng, U, 3 * U),
    b: tf.zeros([3 * U]),
    D1: glorot(rng, U + F, H),
    d1: tf.zeros([H]),
    D2: tf.mul(glorot(rng, H, O), outputScale),
    d2: Array.isArray(outputBias) ? tf.tensor1d(outputBias) : tf.fill([O], outputBias),
    L: init0.linear ? tf.transpose(tf.tensor2d(init0.linear, [O, F])) : tf.zeros([F, O]),
  };
  const vars: Record<string, tf.Variable> = {};
  for (const n of NAMES) {
    vars[n] = tf.variable(init[n], true);
    init[n].dispose();
  }
  return { shape, vars };
}

export function disposeSeqNet(net: SeqNet): void {
  for (const v of Object.values(net.vars)) v.dispose();
}

/** One GRU step given the input's projection xw = x·W + b. */
function cell(net: SeqNet, xw: tf.Tensor2D, h: tf.Tensor2D): tf.Tensor2D {
  const U = net.shape.units;
  const [xz, xr, xh] = tf.split(xw, [U, U, U], 1);
  const [Uzr, Uh] = tf.split(net.vars.U, [2 * U, U], 1);
  const hzr = tf.matMul(h, Uzr);
  const [hz, hr] = tf.split(hzr, [U, U], 1);
  const z = tf.sigmoid(tf.add(xz, hz));
  const r = tf.sigmoid(tf.add(xr, hr));
  const cand = tf.tanh(tf.add(xh, tf.matMul(tf.mul(r, h), Uh)));
  return tf.add(tf.mul(z, h), tf.mul(tf.sub(1, z), cand)) as tf.Tensor2D;
}

function head(net: SeqNet, h: tf.Tensor2D, x: tf.Tensor2D): tf.Tensor2D {
  const hid = tf.relu(tf.add(tf.matMul(tf.concat([h, x], 1), net.vars.D1), net.vars.d1));
  return tf.add(tf.add(tf.matMul(hid, net.vars.D2), tf.matMul(x, net.vars.L)), net.vars.d2) as tf.Tensor2D;
}

/** One step for a batch of keys: x [B,F], h [B,U] → new state and raw outputs [B,O]. */
export function stepSeqNet(net: SeqNet, x: tf.Tensor2D, h: tf.Tensor2D): { h: tf.Tensor2D; out: tf.Tensor2D } {
  return tf.tidy(() => {
    const xw = tf.add(tf.matMul(x, net.vars.W), net.vars.b) as tf.Tensor2D;
    const h2 = cell(net, xw, h);
    return { h: h2, out: head(net, h2, x) };
  });
}

/** The whole sequence: x [B,T,F], h0 [B,U] → raw outputs [B,T,O] and the last state. */
export function runSeqNet(net: SeqNet, x: tf.Tensor3D, h0: tf.Tensor2D): { out: tf.Tensor3D; h: tf.Tensor2D } {
  const [B, T, F] = x.shape;
  const { units: U, outputs: O } = net.shape;
  const flat = tf.reshape(x, [B * T, F]) as tf.Tensor2D;
  const xw = tf.reshape(tf.add(tf.matMul(flat, net.vars.W), net.vars.b), [B, T, 3 * U]);
  const steps = tf.unstack(xw, 1) as tf.Tensor2D[];
  const hs: tf.Tensor2D[] = [];
  let h = h0;
  for (const s of steps) {
    h = cell(net, s, h);
    hs.push(h);
  }
  const H = tf.reshape(tf.stack(hs, 1), [B * T, U]) as tf.Tensor2D;
  const out = tf.reshape(head(net, H, flat), [B, T, O]) as tf.Tensor3D;
  return { out, h };
}

export function zeroState(net: SeqNet, batch: number): tf.Tensor2D {
  return tf.zeros([batch, net.shape.units]);
}

/** Weights as tf.io named tensors, for models/store.ts. */
export function seqNetTensors(net: SeqNet, prefix: string): tf.NamedTensorMap {
  const out: tf.NamedTensorMap = {};
  for (const n of NAMES) out[`${prefix}/${n}`] = net.vars[n];
  return out;
}

export function seqNetFromTensors(shape: SeqNetShape, tensors: tf.NamedTensorMap, prefix: string): SeqNet {
  const vars: Record<string, tf.Variable> = {};
  for (const n of NAMES) {
    const t = tensors[`${prefix}/${n}`];
    if (!t) throw new Error(`weights lack ${prefix}/${n}`);
    vars[n] = tf.variable(t, false);
  }
  return { shape, vars };
}
