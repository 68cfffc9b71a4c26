/**
 * The paper's classifier probe: an MLP with two hidden ReLU layers and a softmax output, trained with Adam on
 * frozen vectors, following scikit-learn's MLPClassifier (solver "adam") so that results compare with it:
 * Glorot-uniform initialisation (bound sqrt(6 / (fan_in + fan_out)) for weights and biases), minibatches of
 * min(200, n) reshuffled every epoch, cross-entropy plus 0.5 * alpha * ||W||^2 / batch as the loss, Adam
 * (lr 1e-3, betas 0.9 / 0.999, eps 1e-8), at most maxIter epochs, stopping when the epoch's training loss has not
 * improved by tol (1e-4) for more than nIterNoChange (10) epochs.
 *
 * Speed: everything runs on Float32Arrays the probe owns, through lib/probe/kernels.ts (OpenBLAS and C loops via
 * the optional native addon; without it tfjs wasm products and JavaScript loops): the eight matrix products of a step, bias + ReLU, softmax and
 * cross-entropy, and Adam. The networks are small (minibatches of 200), so per-step overhead is what counts: the
 * earlier tfjs version paid ~10 tensor uploads and ~20 kernel launches per step and ran at 0.7x sklearn's speed.
 *
 * Differences from sklearn: two classes use a two-unit softmax (sklearn: one logistic unit), and the output has one unit per label of the task inventory (sklearn: per label seen in training; unseen labels are
 * wrong either way).
 */
import { argError } from "../util/errors";
import { Rng } from "../util/rng";
import { probeKernels, type ProbeKernels } from "./kernels";

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

/** One layer's parameters (w is [fanIn, fanOut] row-major, like sklearn's coefs_) and Adam's moments. */
interface Layer {
  fanIn: number;
  fanOut: number;
  w: Float32Array;
  b: Float32Array;
  mw: Float32Array;
  vw: Float32Array;
  mb: Float32Array;
  vb: Float32Array;
}

/** Work buffers of one minibatch, reused by every step. */
interface StepBuffers {
  xb: Float32Array;
  a1: Float32Array;
  a2: Float32Array;
  d3: Float32Array;
  dl2: Float32Array;
  dl1: Float32Array;
  /** Unscaled batch sums of the data-loss gradient of W1, W2, W3 and of b1, b2, b3. */
  gW: Float32Array[];
  gB: Float32Array[];
}

function stepBuffers(batch: number, d: number, h1: number, h2: number, K: number): StepBuffers {
  return {
    xb: new Float32Array(batch * d),
    a1: new Float32Array(batch * h1),
    a2: new Float32Array(batch * h2),
    d3: new Float32Array(batch * K),
    dl2: new Float32Array(batch * h2),
    dl1: new Float32Array(batch * h1),
    gW: [new Float32Array(d * h1), new Float32Array(h1 * h2), new Float32Array(h2 * K)],
    gB: [new Float32Array(h1), new Float32Array(h2), new Float32Array(K)],
  };
}

/**
 * Forward and backward pass over the rows order[start .. start + bs) of ds: fills buf.gW / buf.gB with the batch
 * sums of the cross-entropy's gradient (no L2 term, not divided by bs) and returns the summed cross-entropy.
 */
function forwardBackward(kr: ProbeKernels, layers: Layer[], ds: Dataset, order: Int32Array, start: number, bs: number, buf: StepBuffers): number {
  const [L1, L2, L3] = layers;
  const d = L1.fanIn;
  const h1 = L1.fanOut;
  const h2 = L2.fanOut;
  const K = L3.fanOut;
  const { xb, a1, a2, d3, dl2, dl1, gW, gB } = buf;
  kr.gather(ds.x, d, order, start, bs, xb);
  // Forward: a1 = relu(x W1 + b1), a2 = relu(a1 W2 + b2), z = a2 W3 + b3 (z written into d3).
  kr.gemm(false, false, bs, h1, d, xb, L1.w, a1);
  kr.biasAct(a1, bs, L1.b, true);
  kr.gemm(false, false, bs, h2, h1, a1, L2.w, a2);
  kr.biasAct(a2, bs, L2.b, true);
  kr.gemm(false, false, bs, K, h2, a2, L3.w, d3);
  kr.biasAct(d3, bs, L3.b, false);
  // d3 becomes the output delta softmax(z) - onehot(y); gB[2] its column sums.
  const loss = kr.softmaxXent(d3, bs, ds.y, order, start, gB[2]);
  // Backward: gW3 = a2^T d3, dl2 = (d3 W3^T) * [a2 > 0], gW2 = a1^T dl2, dl1 = (dl2 W2^T) * [a1 > 0], gW1 = x^T dl1.
  kr.gemm(true, false, h2, K, bs, a2, d3, gW[2]);
  kr.gemm(false, true, bs, h2, K, d3, L3.w, dl2);
  kr.reluBackward(dl2, a2, bs, gB[1]);
  kr.gemm(true, false, h1, h2, bs, a1, dl2, gW[1]);
  kr.gemm(false, true, bs, h1, h2, dl2, L2.w, dl1);
  kr.reluBackward(dl1, a1, bs, gB[0]);
  kr.gemm(true, false, d, h1, bs, xb, dl1, gW[0]);
  return loss;
}

/**
 * Mean cross-entropy over all rows of ds and its gradient (W1, b1, W2, b2, W3, b3, shaped like weights()) for
 * given weights: the training step's forward/backward pass, exposed so tests can check it against finite
 * differences.
 */
export async function crossEntropyGradient(weights: Float32Array[], ds: Dataset, numClasses: number, kernels?: ProbeKernels): Promise<{ loss: number; grads: Float32Array[] }> {
  checkDataset(ds, numClasses, "ds");
  const kr = kernels ?? (await probeKernels());
  const sizes = [ds.dim, weights[1].length, weights[3].length, numClasses];
  const layers: Layer[] = [0, 1, 2].map((l) => {
    const w = weights[2 * l];
    const b = weights[2 * l + 1];
    if (w.length !== sizes[l] * sizes[l + 1] || b.length !== sizes[l + 1]) throw argError("weights", `layer ${l + 1} should be [${sizes[l]}, ${sizes[l + 1]}] with ${sizes[l + 1]} biases`);
    return { fanIn: sizes[l], fanOut: sizes[l + 1], w, b, mw: w, vw: w, mb: b, vb: b };
  });
  const buf = stepBuffers(ds.n, sizes[0], sizes[1], sizes[2], numClasses);
  const order = Int32Array.from({ length: ds.n }, (_, i) => i);
  const loss = forwardBackward(kr, layers, ds, order, 0, ds.n, buf) / ds.n;
  const grads = [0, 1, 2].flatMap((l) => [buf.gW[l].map((g) => g / ds.n), buf.gB[l].map((g) => g / ds.n)]);
  return { loss, grads };
}

export class MlpProbe {
  private constructor(
    readonly dim: number,
    readonly hidden: [number, number],
    readonly numClasses: number,
    private readonly layers: Layer[],
    readonly info: TrainInfo,
    private readonly kernels: ProbeKernels,
  ) {}

  /** Name of the kernels used ("native", "wasm" or "js"). */
  get kernelName(): string {
    return this.kernels.name;
  }

  /**
   * Train on `ds` (only the rows listed in `rows`, default all). Labels must lie in [0, numClasses).
   * `onEpoch` sees the epoch number and its training loss. `kernels` overrides the numerical kernels (tests).
   */
  static async train(
    ds: Dataset,
    numClasses: number,
    cfg: MlpConfig,
    opts: { rows?: Int32Array; onEpoch?: (epoch: number, loss: number) => void; kernels?: ProbeKernels } = {},
  ): Promise<MlpProbe> {
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
    const rng = new Rng(cfg.seed);
    const kr = opts.kernels ?? (await probeKernels());

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
      layers.push({ fanIn, fanOut, w, b, mw: new Float32Array(w.length), vw: new Float32Array(w.length), mb: new Float32Array(b.length), vb: new Float32Array(b.length) });
    }
    const probe = new MlpProbe(d, [h1, h2], K, layers, { epochs: 0, converged: false, lossCurve: [], seconds: 0 }, kr);
    const [L1, L2, L3] = layers;

    const buf = stepBuffers(batch, d, h1, h2, K);
    const { gW, gB } = buf;

    let t = 0;
    let bestLoss = Infinity;
    let noImprove = 0;
    // An Int32Array for the native gather; Rng.shuffle only indexes it (same draws as for a number[]).
    const order = Int32Array.from(rows);
    for (let epoch = 0; epoch < maxIter; epoch++) {
      rng.shuffle(order as unknown as number[]);
      let accumulated = 0;
      for (let start = 0; start < n; start += batch) {
        const bs = Math.min(n, start + batch) - start;
        t++;
        const dataLoss = forwardBackward(kr, layers, ds, order, start, bs, buf) / bs;
        // Adam with sklearn's bias-corrected step size; biases carry no L2 term.
        const lrT = (lr * Math.sqrt(1 - Math.pow(0.999, t))) / (1 - Math.pow(0.9, t));
        const inv = 1 / bs;
        let sq = 0;
        for (let l = 0; l < 3; l++) {
          const L = layers[l];
          sq += kr.adam(L.w, gW[l], L.mw, L.vw, cfg.alpha, inv, lrT);
          kr.adam(L.b, gB[l], L.mb, L.vb, 0, inv, lrT);
        }
        accumulated += (dataLoss + (0.5 * cfg.alpha * sq) / bs) * bs;
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

  /** Output scores (logits, [n, numClasses]) of each row of x. */
  scores(x: Float32Array, n = x.length / this.dim): Float32Array {
    if (x.length !== n * this.dim) throw argError("x", `holds ${x.length} values, expected n*dim with dim ${this.dim}`);
    const out = new Float32Array(n * this.numClasses);
    this.forwardChunks((s, e) => x.subarray(s * this.dim, e * this.dim), n, (s, e, z) => out.set(z.subarray(0, (e - s) * this.numClasses), s * this.numClasses));
    return out;
  }

  /** The forward pass in chunks of rows (bounded memory); `rowsOf(s, e)` gives rows s..e-1 as [e-s, dim]. */
  private forwardChunks(rowsOf: (start: number, end: number) => Float32Array, n: number, sink: (start: number, end: number, z: Float32Array) => void): void {
    const [h1, h2] = this.hidden;
    const K = this.numClasses;
    const chunk = 512;
    const a1 = new Float32Array(chunk * h1);
    const a2 = new Float32Array(chunk * h2);
    const z = new Float32Array(chunk * K);
    const [L1, L2, L3] = this.layers;
    const k = this.kernels;
    for (let s = 0; s < n; s += chunk) {
      const e = Math.min(n, s + chunk);
      const rows = e - s;
      k.gemm(false, false, rows, h1, this.dim, rowsOf(s, e), L1.w, a1);
      k.biasAct(a1, rows, L1.b, true);
      k.gemm(false, false, rows, h2, h1, a1, L2.w, a2);
      k.biasAct(a2, rows, L2.b, true);
      k.gemm(false, false, rows, K, h2, a2, L3.w, z);
      k.biasAct(z, rows, L3.b, false);
      sink(s, e, z);
    }
  }

  private predictChunks(rowsOf: (start: number, end: number) => Float32Array, n: number): Int32Array {
    const out = new Int32Array(n);
    const K = this.numClasses;
    this.forwardChunks(rowsOf, n, (s, e, z) => {
      for (let i = s; i < e; i++) {
        const o = (i - s) * K;
        let best = 0;
        for (let c = 1; c < K; c++) if (z[o + c] > z[o + best]) best = c;
        out[i] = best;
      }
    });
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
