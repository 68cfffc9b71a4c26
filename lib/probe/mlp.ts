/**
 * The paper's classifier probe: an MLP with two hidden ReLU layers and a softmax output, trained with Adam on
 * frozen vectors, following scikit-learn's MLPClassifier (solver "adam") so that results compare with it:
 * Glorot-uniform initialisation (bound sqrt(6 / (fan_in + fan_out)) for weights and biases), minibatches of
 * min(200, n) reshuffled every epoch, cross-entropy plus 0.5 * alpha * ||W||^2 / batch as the loss, Adam
 * (lr 1e-3, betas 0.9 / 0.999, eps 1e-8), at most maxIter epochs, stopping when the epoch's training loss has not
 * improved by tol (1e-4) for more than nIterNoChange (10) epochs.
 *
 * Speed: the matrix products run on TensorFlow.js's wasm backend as plain 2-D matMuls (the only fast case there;
 * 30x the speed of a JavaScript loop here), with bias and ReLU fused into the forward product. The Adam update,
 * the L2 term and the gradient scaling run as one JavaScript loop directly on the wasm heap, because as tfjs ops
 * they would cost ~70 kernel launches per step and dominate small networks. Differences from sklearn: two
 * classes use a two-unit softmax (sklearn: one logistic unit), and the output has one unit per label of the task
 * inventory (sklearn: per label seen in training; unseen labels are wrong either way).
 */
import * as tf from "@tensorflow/tfjs";
import { argError } from "../util/errors";
import { Rng } from "../util/rng";
import { ensureProbeBackend } from "./backend";

export interface Dataset {
  /** Row-major [n, dim] float32 vectors. */
  x: Float32Array;
  /** Class index of each row, 0 <= y < numClasses. */
  y: Int32Array;
  n: number;
  dim: number;
}

export interface MlpConfig {
  hidden: [number, number];
  /** L2 penalty (sklearn's alpha). */
  alpha: number;
  seed: number;
  /** Epochs at most (sklearn max_iter; the paper uses 1000). */
  maxIter?: number;
  tol?: number;
  nIterNoChange?: number;
  learningRate?: number;
  /** Default min(200, n). */
  batchSize?: number;
}

export interface TrainInfo {
  epochs: number;
  converged: boolean;
  lossCurve: number[];
  seconds: number;
}

function checkDataset(ds: Dataset, numClasses: number, what: string): void {
  if (ds.x.length !== ds.n * ds.dim) throw argError(what, `x holds ${ds.x.length} values, expected n*dim = ${ds.n}*${ds.dim}`);
  if (ds.y.length !== ds.n) throw argError(what, `y holds ${ds.y.length} labels, expected n = ${ds.n}`);
  for (let i = 0; i < ds.n; i++) {
    if (!(ds.y[i] >= 0 && ds.y[i] < numClasses)) throw argError(what, `label ${ds.y[i]} of row ${i} is outside [0, ${numClasses})`);
  }
}

/** Read a tensor without copying when the backend exposes its heap (wasm); a copy otherwise. */
function readView(t: tf.Tensor): Float32Array {
  const b = tf.backend() as unknown as { typedArrayFromHeap?: (t: { shape: number[]; dtype: string; dataId: object }) => Float32Array };
  return typeof b.typedArrayFromHeap === "function" ? b.typedArrayFromHeap(t) : (t.dataSync() as Float32Array);
}

/**
 * One layer's parameters, kept in JavaScript (the master copy Adam updates) and uploaded as fresh tensors for
 * each step: the wasm matMul caches XNNPACK's packed copy of its right operand per tensor, so a weight tensor
 * must never change in place. The transpose (needed by the backward pass) is written in the same loop.
 */
interface Layer {
  fanIn: number;
  fanOut: number;
  w: Float32Array;
  wT: Float32Array;
  b: Float32Array;
  mw: Float32Array;
  vw: Float32Array;
  mb: Float32Array;
  vb: Float32Array;
}

function transposeInto(src: Float32Array, rows: number, cols: number, dst: Float32Array): void {
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    for (let j = 0; j < cols; j++) dst[j * rows + i] = src[o + j];
  }
}

export class MlpProbe {
  private constructor(
    readonly dim: number,
    readonly hidden: [number, number],
    readonly numClasses: number,
    private readonly layers: Layer[],
    readonly info: TrainInfo,
  ) {}

  /**
   * Train on `ds` (only the rows listed in `rows`, default all). Labels must lie in [0, numClasses).
   * `onEpoch` sees the epoch number and its training loss.
   */
  static async train(
    ds: Dataset,
    numClasses: number,
    cfg: MlpConfig,
    opts: { rows?: Int32Array; onEpoch?: (epoch: number, loss: number) => void } = {},
  ): Promise<MlpProbe> {
    await ensureProbeBackend();
    checkDataset(ds, numClasses, "train");
    const t0 = Date.now();
    const [h1, h2] = cfg.hidden;
    if (!(Number.isInteger(h1) && h1 > 0 && Number.isInteger(h2) && h2 > 0)) throw argError("hidden", `expected two positive sizes, got [${cfg.hidden}]`);
    if (!(cfg.alpha >= 0)) throw argError("alpha", `expected >= 0, got ${cfg.alpha}`);
    const rows = opts.rows ?? Int32Array.from({ length: ds.n }, (_, i) => i);
    const n = rows.length;
    if (n === 0) throw argError("rows", "no training rows");
    const K = numClasses;
    const d = ds.dim;
    const maxIter = cfg.maxIter ?? 200;
    const tol = cfg.tol ?? 1e-4;
    const nIterNoChange = cfg.nIterNoChange ?? 10;
    const lr = cfg.learningRate ?? 1e-3;
    const batch = Math.min(cfg.batchSize ?? 200, n);
    const beta1 = 0.9;
    const beta2 = 0.999;
    const eps = 1e-8;
    const rng = new Rng(cfg.seed);

    // sklearn: weights then biases of each layer drawn from U(-b, b), b = sqrt(6 / (fan_in + fan_out)).
    const sizes = [d, h1, h2, K];
    const layers: Layer[] = [];
    for (let l = 0; l < 3; l++) {
      const fanIn = sizes[l];
      const fanOut = sizes[l + 1];
      const bound = Math.sqrt(6 / (fanIn + fanOut));
      const w = new Float32Array(fanIn * fanOut);
      for (let i = 0; i < w.length; i++) w[i] = (rng.next() * 2 - 1) * bound;
      const b = new Float32Array(fanOut);
      for (let i = 0; i < b.length; i++) b[i] = (rng.next() * 2 - 1) * bound;
      const wT = new Float32Array(w.length);
      transposeInto(w, fanIn, fanOut, wT);
      layers.push({ fanIn, fanOut, w, wT, b, mw: new Float32Array(w.length), vw: new Float32Array(w.length), mb: new Float32Array(b.length), vb: new Float32Array(b.length) });
    }
    const probe = new MlpProbe(d, [h1, h2], K, layers, { epochs: 0, converged: false, lossCurve: [], seconds: 0 });

    let t = 0;
    let bestLoss = Infinity;
    let noImprove = 0;
    const order = Array.from(rows);
    const xb = new Float32Array(batch * d);
    const xbT = new Float32Array(batch * d);
    const d3 = new Float32Array(batch * K);
    const gb3 = new Float32Array(K);
    const colSum = [new Float32Array(h1), new Float32Array(h2)];
    const [L1, L2, L3] = layers;
    for (let epoch = 0; epoch < maxIter; epoch++) {
      rng.shuffle(order);
      let accumulated = 0;
      for (let start = 0; start < n; start += batch) {
        const bs = Math.min(n, start + batch) - start;
        for (let i = 0; i < bs; i++) xb.set(ds.x.subarray(order[start + i] * d, (order[start + i] + 1) * d), i * d);
        transposeInto(xb.subarray(0, bs * d), bs, d, xbT);
        t++;
        const up = tf.tidy(() => ({
          x: tf.tensor2d(xb.subarray(0, bs * d), [bs, d]),
          xT: tf.tensor2d(xbT.subarray(0, bs * d), [d, bs]),
          W1: tf.tensor2d(L1.w, [d, h1]),
          b1: tf.tensor1d(L1.b),
          W2: tf.tensor2d(L2.w, [h1, h2]),
          b2: tf.tensor1d(L2.b),
          W3: tf.tensor2d(L3.w, [h2, K]),
          b3: tf.tensor1d(L3.b),
          W2T: tf.tensor2d(L2.wT, [h2, h1]),
          W3T: tf.tensor2d(L3.wT, [K, h2]),
        }));
        const fwd = tf.tidy(() => {
          const a1 = tf.fused.matMul({ a: up.x, b: up.W1, bias: up.b1, activation: "relu" });
          const a2 = tf.fused.matMul({ a: a1, b: up.W2, bias: up.b2, activation: "relu" });
          const z = tf.fused.matMul({ a: a2, b: up.W3, bias: up.b3 });
          return { a1, a2, z };
        });
        // Softmax, cross-entropy and the output delta in JavaScript: [bs, K] is small, kernel launches cost more.
        const z = readView(fwd.z);
        let dataLoss = 0;
        gb3.fill(0);
        for (let i = 0; i < bs; i++) {
          const o = i * K;
          let mx = -Infinity;
          for (let k = 0; k < K; k++) if (z[o + k] > mx) mx = z[o + k];
          let sum = 0;
          for (let k = 0; k < K; k++) {
            const e = Math.exp(z[o + k] - mx);
            d3[o + k] = e;
            sum += e;
          }
          const yi = ds.y[order[start + i]];
          for (let k = 0; k < K; k++) {
            const pk = d3[o + k] / sum;
            if (k === yi) {
              // sklearn's log_loss clips probabilities to [eps, 1 - eps] of the dtype (float32 here).
              dataLoss -= Math.log(Math.min(1 - 1.1920929e-7, Math.max(1.1920929e-7, pk)));
              d3[o + k] = pk - 1;
            } else d3[o + k] = pk;
            gb3[k] += d3[o + k];
          }
        }
        dataLoss /= bs;
        const grads = tf.tidy(() => {
          const dz = tf.tensor2d(d3.subarray(0, bs * K), [bs, K]);
          // Transposes as explicit copies: matMul with a transposed operand is a scalar loop on wasm.
          const gW3 = tf.matMul(tf.transpose(fwd.a2), dz);
          const dl2 = tf.mul(tf.matMul(dz, up.W3T), tf.step(fwd.a2));
          const gW2 = tf.matMul(tf.transpose(fwd.a1), dl2);
          const dl1 = tf.mul(tf.matMul(dl2, up.W2T), tf.step(fwd.a1));
          const gW1 = tf.matMul(up.xT, dl1);
          // Bias gradients (column sums of dl1, dl2) are summed in JavaScript below: cheaper than a reduction kernel.
          return [gW1, dl1, gW2, dl2, gW3];
        });
        // Adam on the master copies, with the L2 term and the 1/batch scaling folded in (sklearn's gradients).
        const lrT = (lr * Math.sqrt(1 - Math.pow(beta2, t))) / (1 - Math.pow(beta1, t));
        const inv = 1 / bs;
        const alpha = cfg.alpha;
        let sq = 0;
        for (let l = 0; l < 3; l++) {
          const L = layers[l];
          const gw = readView(grads[2 * l]);
          let gb = gb3;
          if (l < 2) {
            const delta = readView(grads[2 * l + 1]);
            gb = colSum[l];
            gb.fill(0);
            for (let i = 0, o = 0; i < bs; i++, o += L.fanOut) for (let j = 0; j < L.fanOut; j++) gb[j] += delta[o + j];
          }
          const { w, wT, mw, vw, b, mb, vb, fanIn, fanOut } = L;
          for (let i = 0; i < w.length; i++) {
            const wi = w[i];
            sq += wi * wi;
            const gi = (gw[i] + alpha * wi) * inv;
            const mi = beta1 * mw[i] + (1 - beta1) * gi;
            const vi = beta2 * vw[i] + (1 - beta2) * gi * gi;
            mw[i] = mi;
            vw[i] = vi;
            const nw = wi - (lrT * mi) / (Math.sqrt(vi) + eps);
            w[i] = nw;
            wT[(i % fanOut) * fanIn + ((i / fanOut) | 0)] = nw;
          }
          for (let i = 0; i < b.length; i++) {
            const gi = gb[i] * inv;
            const mi = beta1 * mb[i] + (1 - beta1) * gi;
            const vi = beta2 * vb[i] + (1 - beta2) * gi * gi;
            mb[i] = mi;
            vb[i] = vi;
            b[i] -= (lrT * mi) / (Math.sqrt(vi) + eps);
          }
        }
        tf.dispose([grads, fwd, up]);
        accumulated += (dataLoss + (0.5 * alpha * sq) / bs) * bs;
      }
      const loss = accumulated / n;
      probe.info.lossCurve.push(loss);
      probe.info.epochs = epoch + 1;
      opts.onEpoch?.(epoch + 1, loss);
      if (!Number.isFinite(loss)) break;
      // sklearn's _update_no_improvement_count (early_stopping=False) and its "> n_iter_no_change" test.
      if (loss > bestLoss - tol) noImprove++;
      else noImprove = 0;
      if (loss < bestLoss) bestLoss = loss;
      if (noImprove > nIterNoChange) {
        probe.info.converged = true;
        break;
      }
    }
    probe.info.seconds = (Date.now() - t0) / 1000;
    return probe;
  }

  /** Predicted class of each row of x ([n, dim] row-major). */
  predict(x: Float32Array, n = x.length / this.dim): Int32Array {
    if (x.length !== n * this.dim) throw argError("x", `holds ${x.length} values, expected n*dim with dim ${this.dim}`);
    return this.predictChunks((s, e) => x.subarray(s * this.dim, e * this.dim), n);
  }

  /** Predictions in chunks of rows (bounded memory); `rowsOf(s, e)` gives rows s..e-1 as [e-s, dim]. */
  private predictChunks(rowsOf: (start: number, end: number) => Float32Array, n: number): Int32Array {
    const out = new Int32Array(n);
    const chunk = Math.max(1, Math.floor((16 * 1024 * 1024) / (4 * Math.max(this.dim, this.hidden[0], this.hidden[1]))));
    const [L1, L2, L3] = this.layers;
    const w = tf.tidy(() => ({
      W1: tf.tensor2d(L1.w, [this.dim, this.hidden[0]]),
      b1: tf.tensor1d(L1.b),
      W2: tf.tensor2d(L2.w, [this.hidden[0], this.hidden[1]]),
      b2: tf.tensor1d(L2.b),
      W3: tf.tensor2d(L3.w, [this.hidden[1], this.numClasses]),
      b3: tf.tensor1d(L3.b),
    }));
    try {
      for (let s = 0; s < n; s += chunk) {
        const e = Math.min(n, s + chunk);
        const pred = tf.tidy(() => {
          const xs = tf.tensor2d(rowsOf(s, e), [e - s, this.dim]);
          const a1 = tf.fused.matMul({ a: xs, b: w.W1, bias: w.b1, activation: "relu" });
          const a2 = tf.fused.matMul({ a: a1, b: w.W2, bias: w.b2, activation: "relu" });
          return tf.argMax(tf.fused.matMul({ a: a2, b: w.W3, bias: w.b3 }), 1);
        });
        out.set(pred.dataSync() as Int32Array, s);
        pred.dispose();
      }
    } finally {
      tf.dispose(w);
    }
    return out;
  }

  /** Accuracy on a dataset, or on the listed rows of it. */
  accuracy(ds: Dataset, rows?: Int32Array): number {
    if (!rows) return accuracyOf(this.predict(ds.x, ds.n), ds.y);
    const pred = this.predictChunks((s, e) => gatherRows(ds, rows.subarray(s, e)), rows.length);
    return accuracyOf(pred, Int32Array.from(rows, (r) => ds.y[r]));
  }

  /** The weights (W1, b1, W2, b2, W3, b3; each W [fan_in, fan_out] row-major, like sklearn's coefs_). */
  weights(): Float32Array[] {
    return this.layers.flatMap((L) => [L.w.slice(), L.b.slice()]);
  }
}

/** Rows of a dataset copied into one [rows.length, dim] array. */
export function gatherRows(ds: Dataset, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length * ds.dim);
  for (let i = 0; i < rows.length; i++) out.set(ds.x.subarray(rows[i] * ds.dim, (rows[i] + 1) * ds.dim), i * ds.dim);
  return out;
}

/** A subset of a dataset (copied). */
export function subsetRows(ds: Dataset, rows: ArrayLike<number>): Dataset {
  return { x: gatherRows(ds, rows), y: Int32Array.from(rows as ArrayLike<number>, (r) => ds.y[r]), n: rows.length, dim: ds.dim };
}

export function accuracyOf(pred: Int32Array, y: Int32Array): number {
  if (pred.length !== y.length) throw new Error(`accuracyOf: ${pred.length} predictions for ${y.length} labels`);
  if (y.length === 0) return NaN;
  let ok = 0;
  for (let i = 0; i < y.length; i++) if (pred[i] === y[i]) ok++;
  return ok / y.length;
}

/** Train one probe on a whole dataset. */
export function trainMlp(train: Dataset, numClasses: number, cfg: MlpConfig): Promise<MlpProbe> {
  return MlpProbe.train(train, numClasses, cfg);
}
