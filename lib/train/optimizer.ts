/**
 * Adam (with bias correction, optional decoupled weight decay), the linear warm-up schedule and gradient clipping,
 * all on plain Float32Arrays outside the tfjs backend.
 *
 * Why outside the backend: the wasm heap is capped at 4 GiB, and BERT-base with two Adam moments in it does not
 * fit; a JS loop over Float32Arrays also costs a few ms per million weights, and float32 storage makes a resumed
 * run bit-identical (state is saved and restored exactly). The loop is shared with MLM pretraining.
 */
import { nativeOptimizer, NativeOptimizer } from "./native-optimizer";
import { argError } from "../util/errors";

export interface AdamOptions {
  beta1?: number;
  beta2?: number;
  /** Added to sqrt(v̂). Default 1e-6 as in the AdamW that BERT fine-tuning code uses (Hugging Face). */
  eps?: number;
  /** Decoupled weight decay (AdamW): p <- p * (1 - lr * wd) before the Adam step. 0 = plain Adam. */
  weightDecay?: number;
  /** Bias correction of both moments (the paper's recipe; BERT's original optimizer had none). */
  biasCorrection?: boolean;
}

export const ADAM_DEFAULTS: Required<AdamOptions> = { beta1: 0.9, beta2: 0.999, eps: 1e-6, weightDecay: 0, biasCorrection: true };

/** Moments of every parameter plus the number of updates applied: everything a resumed run needs. */
export interface AdamState {
  step: number;
  m: Float32Array[];
  v: Float32Array[];
}

export class Adam {
  readonly opts: Required<AdamOptions>;
  step = 0;
  readonly m: Float32Array[];
  readonly v: Float32Array[];

  /**
   * @param sizes number of elements of each parameter, in the order `update` receives them
   * @param decay per parameter: whether weight decay applies (conventionally not to biases and LayerNorm)
   */
  constructor(readonly sizes: number[], opts: AdamOptions = {}, readonly decay: boolean[] = sizes.map(() => true)) {
    this.opts = { ...ADAM_DEFAULTS, ...opts };
    const { beta1, beta2, eps, weightDecay } = this.opts;
    if (!(beta1 >= 0 && beta1 < 1)) throw argError("beta1", `expected a number in [0, 1), got ${beta1}`);
    if (!(beta2 >= 0 && beta2 < 1)) throw argError("beta2", `expected a number in [0, 1), got ${beta2}`);
    if (!(eps > 0)) throw argError("eps", `expected a positive number, got ${eps}`);
    if (!(weightDecay >= 0)) throw argError("weightDecay", `expected a number >= 0, got ${weightDecay}`);
    if (decay.length !== sizes.length) throw argError("decay", `expected ${sizes.length} flags, got ${decay.length}`);
    this.m = sizes.map((n) => new Float32Array(n));
    this.v = sizes.map((n) => new Float32Array(n));
  }

  /**
   * One update of every parameter in place with learning rate `lr`, of the gradients times `gradScale` (the
   * clipping factor, applied here rather than in a separate pass over the gradients; see clipScale). `native`:
   * the addon's kernels (the default when built) or null for the JavaScript loops; both give the same bits.
   */
  update(params: Float32Array[], grads: Float32Array[], lr: number, gradScale = 1, native: NativeOptimizer | null = nativeOptimizer()): void {
    if (params.length !== this.sizes.length || grads.length !== this.sizes.length) {
      throw argError("params/grads", `expected ${this.sizes.length} arrays each, got ${params.length} and ${grads.length}`);
    }
    this.step += 1;
    const { beta1: b1, beta2: b2, eps, weightDecay, biasCorrection } = this.opts;
    const bc1 = biasCorrection ? 1 - Math.pow(b1, this.step) : 1;
    const bc2Sqrt = biasCorrection ? Math.sqrt(1 - Math.pow(b2, this.step)) : 1;
    const stepSize = lr / bc1;
    const c1 = 1 - b1;
    const c2 = 1 - b2;
    for (let k = 0; k < params.length; k++) {
      const p = params[k];
      const g = grads[k];
      const m = this.m[k];
      const v = this.v[k];
      if (p.length !== this.sizes[k] || g.length !== this.sizes[k]) {
        throw argError(`params[${k}]`, `expected ${this.sizes[k]} elements, got params ${p.length}, grads ${g.length}`);
      }
      const shrink = this.decay[k] ? 1 - lr * weightDecay : 1;
      if (native) native.adam(p, g, m, v, gradScale, b1, b2, c1, c2, bc2Sqrt, eps, stepSize, shrink);
      else if (shrink === 1) adamKernel(p, g, m, v, gradScale, b1, b2, c1, c2, bc2Sqrt, eps, stepSize);
      else adamWKernel(p, g, m, v, gradScale, b1, b2, c1, c2, bc2Sqrt, eps, stepSize, shrink);
    }
  }

  getState(): AdamState {
    return { step: this.step, m: this.m, v: this.v };
  }

  setState(state: AdamState): void {
    if (state.m.length !== this.sizes.length || state.v.length !== this.sizes.length) {
      throw argError("optimizer state", `expected moments for ${this.sizes.length} parameters, got ${state.m.length}/${state.v.length}`);
    }
    for (let k = 0; k < this.sizes.length; k++) {
      if (state.m[k].length !== this.sizes[k] || state.v[k].length !== this.sizes[k]) {
        throw argError("optimizer state", `parameter ${k}: expected ${this.sizes[k]} elements, got ${state.m[k].length}/${state.v[k].length}`);
      }
      this.m[k].set(state.m[k]);
      this.v[k].set(state.v[k]);
    }
    this.step = state.step;
  }
}

// The element loops, kept monomorphic and branch-light (V8 compiles each to a tight loop). Math.fround rounds
// the moments (and a scaled gradient) to float32 exactly as storing and re-reading them would, without the re-read.
// The native addon's adam (native-optimizer.ts) performs the same double-precision operations in the same order (bit-for-bit equal)
// at a fraction of the time: these loops cost ~75 ms per update for BERT-tiny's 4.4M weights.
//
// Never-touched weights (e.g. embedding rows of words absent so far) have zero moments and a zero gradient:
// their update is exactly zero, so skipping them is exact, not an approximation; it halves the cost of the
// 30,522-row embedding matrix, most of whose rows a task never touches.
function adamKernel(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, gScale: number, b1: number, b2: number, c1: number, c2: number, bc2Sqrt: number, eps: number, stepSize: number): void {
  const fr = Math.fround;
  for (let i = 0; i < p.length; i++) {
    const gi = gScale === 1 ? g[i] : fr(g[i] * gScale);
    const mOld = m[i];
    const vOld = v[i];
    if (gi === 0 && mOld === 0 && vOld === 0) continue;
    const mi = fr(b1 * mOld + c1 * gi);
    const vi = fr(b2 * vOld + c2 * gi * gi);
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] - (stepSize * mi) / (Math.sqrt(vi) / bc2Sqrt + eps);
  }
}

function adamWKernel(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, gScale: number, b1: number, b2: number, c1: number, c2: number, bc2Sqrt: number, eps: number, stepSize: number, shrink: number): void {
  const fr = Math.fround;
  for (let i = 0; i < p.length; i++) {
    const gi = gScale === 1 ? g[i] : fr(g[i] * gScale);
    const mOld = m[i];
    const vOld = v[i];
    if (gi === 0 && mOld === 0 && vOld === 0) {
      p[i] = p[i] * shrink;
      continue;
    }
    const mi = fr(b1 * mOld + c1 * gi);
    const vi = fr(b2 * vOld + c2 * gi * gi);
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] * shrink - (stepSize * mi) / (Math.sqrt(vi) / bc2Sqrt + eps);
  }
}

/**
 * Linear warm-up then linear decay to 0 (Hugging Face's get_linear_schedule_with_warmup): the learning rate of
 * update number `step` (0-based). As there, the very first update of a warmed-up run has rate 0.
 */
export function linearWarmupSchedule(peakLr: number, totalSteps: number, warmupFraction = 0.1): (step: number) => number {
  if (!(peakLr > 0)) throw argError("lr", `expected a positive learning rate, got ${peakLr}`);
  if (!(totalSteps >= 1)) throw argError("totalSteps", `expected at least 1 update, got ${totalSteps}`);
  if (!(warmupFraction >= 0 && warmupFraction < 1)) throw argError("warmup", `expected a fraction in [0, 1), got ${warmupFraction}`);
  const warmup = Math.floor(totalSteps * warmupFraction);
  return (step: number) => {
    if (step < warmup) return (peakLr * step) / Math.max(1, warmup);
    return peakLr * Math.max(0, (totalSteps - step) / Math.max(1, totalSteps - warmup));
  };
}

/** Euclidean norm of all gradients together (accumulated in float64, in order). */
export function globalNorm(grads: Float32Array[], native: NativeOptimizer | null = nativeOptimizer()): number {
  let s = 0;
  for (const g of grads) {
    if (native) s = native.sumSquares(g, s);
    else for (let i = 0; i < g.length; i++) s += g[i] * g[i];
  }
  return Math.sqrt(s);
}

/**
 * The factor torch.nn.utils.clip_grad_norm_ scales gradients by so their global norm `norm` is at most `maxNorm`:
 * maxNorm / (norm + 1e-6) when that is below 1, else 1. Pass it to Adam.update as gradScale (one pass over the
 * gradients instead of scaling them first).
 */
export function clipScale(norm: number, maxNorm: number): number {
  const factor = maxNorm / (norm + 1e-6);
  return factor < 1 ? factor : 1;
}

/** Conventional AdamW exclusion: no weight decay on biases and LayerNorm parameters. */
export function decaysByName(name: string): boolean {
  return !/(^|[._/])bias$|LayerNorm|layer_norm|layernorm|ln_|\.norm\./i.test(name);
}
