/**
 * Logistic regression on the same scaled feature vector the recurrent model reads, one
 * independent output per horizon: the baseline that knows the present window but not the path.
 * Plain full-batch Adam with a little L2; deterministic.
 */
export interface Logistic {
  weights: number[][]; // [output][feature]
  bias: number[];
}

export interface LogisticRow {
  x: number[];
  y: number[];
  m: number[];
}

export function fitLogistic(rows: LogisticRow[], outputs: number, opts: { iterations?: number; lr?: number; l2?: number } = {}): Logistic {
  const dim = rows[0]?.x.length ?? 0;
  const iters = opts.iterations ?? 300;
  const lr = opts.lr ?? 0.05;
  const l2 = opts.l2 ?? 1e-4;
  const w = Array.from({ length: outputs }, () => new Float64Array(dim));
  const b = new Float64Array(outputs);
  for (let o = 0; o < outputs; o++) {
    const mw = new Float64Array(dim + 1);
    const vw = new Float64Array(dim + 1);
    let n = 0;
    let pos = 0;
    for (const r of rows) {
      if (!r.m[o]) continue;
      n++;
      pos += r.y[o];
    }
    if (!n) continue;
    const rate = Math.min(1 - 1e-4, Math.max(1e-4, pos / n));
    b[o] = Math.log(rate / (1 - rate));
    const g = new Float64Array(dim + 1);
    for (let it = 1; it <= iters; it++) {
      g.fill(0);
      for (const r of rows) {
        if (!r.m[o]) continue;
        let z = b[o];
        for (let j = 0; j < dim; j++) z += w[o][j] * r.x[j];
        const err = 1 / (1 + Math.exp(-z)) - r.y[o];
        for (let j = 0; j < dim; j++) g[j] += err * r.x[j];
        g[dim] += err;
      }
      for (let j = 0; j <= dim; j++) {
        const grad = g[j] / n + (j < dim ? l2 * w[o][j] : 0);
        mw[j] = 0.9 * mw[j] + 0.1 * grad;
        vw[j] = 0.999 * vw[j] + 0.001 * grad * grad;
        const step = (lr * (mw[j] / (1 - 0.9 ** it))) / (Math.sqrt(vw[j] / (1 - 0.999 ** it)) + 1e-8);
        if (j < dim) w[o][j] -= step;
        else b[o] -= step;
      }
    }
  }
  return { weights: w.map((r) => Array.from(r)), bias: Array.from(b) };
}

export function predictLogistic(model: Logistic, x: number[]): number[] {
  return model.weights.map((w, o) => {
    let z = model.bias[o];
    for (let j = 0; j < w.length; j++) z += w[j] * x[j];
    return 1 / (1 + Math.exp(-z));
  });
}
