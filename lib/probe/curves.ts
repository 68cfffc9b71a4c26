/**
 * Learning curves: probe accuracy on named evaluation sets as a function of the number of training examples.
 * Section 4.1's memorisation experiment splits train 80:20 into subtrain / subtest (seeded), trains probes on
 * growing (nested) subsets of subtrain and compares the curves on subtrain, subtest and test: when the encoder
 * was fine-tuned on all of train, subtest behaves like subtrain rather than like test.
 */
import { argError } from "../util/errors";
import { Progress, type ProgressSink } from "../util/progress";
import { Rng } from "../util/rng";
import { meanStd } from "./grid";
import { MlpProbe, subsetRows, type Dataset } from "./mlp";

export interface CurvePoint {
  size: number;
  /** Per evaluation set: mean and std over seeds, and the per-seed accuracies. */
  accuracy: Record<string, { mean: number; std: number; values: number[] }>;
}

export interface CurveOptions {
  train: Dataset;
  numClasses: number;
  /** Evaluation sets by name. */
  evalSets: Record<string, Dataset>;
  /** Training-set sizes (ascending; sizes above train.n are clipped to it). */
  sizes: number[];
  hidden: [number, number];
  alpha: number;
  /** Seeds per size (each seed draws its own nested subsets and initialisation; default 3). */
  seeds?: number;
  maxIter?: number;
  seed?: number;
  progress?: ProgressSink;
}

/** Accuracy on every evaluation set after training on the first `size` examples of a seeded permutation. */
export async function learningCurve(opts: CurveOptions): Promise<CurvePoint[]> {
  const seeds = opts.seeds ?? 3;
  const seed = opts.seed ?? 0;
  const sizes = [...new Set(opts.sizes.map((s) => Math.min(s, opts.train.n)))].sort((a, b) => a - b);
  if (sizes.length === 0 || sizes[0] < 1) throw argError("sizes", `expected positive training sizes, got [${opts.sizes}]`);
  const points: CurvePoint[] = sizes.map((size) => ({ size, accuracy: {} }));
  const progress = new Progress("learning curve", sizes.length * seeds, "probes", opts.progress);
  let step = 0;
  for (let s = 0; s < seeds; s++) {
    // Nested subsets per seed: size k uses the first k rows of one permutation, so curves are monotone in data.
    const perm = new Rng(seed + 7919 * (s + 1)).permutation(opts.train.n);
    for (const point of points) {
      const rows = Int32Array.from(perm.slice(0, point.size));
      const probe = await MlpProbe.train(opts.train, opts.numClasses, { hidden: opts.hidden, alpha: opts.alpha, seed: seed + s, maxIter: opts.maxIter }, { rows });
      for (const [name, ds] of Object.entries(opts.evalSets)) {
        const acc = probe.accuracy(ds);
        (point.accuracy[name] ??= { mean: NaN, std: NaN, values: [] }).values.push(acc);
      }
      progress.update(++step, 1, { size: point.size, seed: seed + s });
    }
  }
  for (const p of points) {
    for (const a of Object.values(p.accuracy)) Object.assign(a, meanStd(a.values));
  }
  progress.finish(step);
  return points;
}

/** Seeded 80:20 (by default) split of train into subtrain and subtest row indices. */
export function memorisationSplit(n: number, seed = 0, fraction = 0.8): { subtrain: Int32Array; subtest: Int32Array } {
  if (!(fraction > 0 && fraction < 1)) throw argError("fraction", `expected a fraction in (0, 1), got ${fraction}`);
  const perm = new Rng(seed).permutation(n);
  const k = Math.round(n * fraction);
  return { subtrain: Int32Array.from(perm.slice(0, k)).sort(), subtest: Int32Array.from(perm.slice(k)).sort() };
}

/**
 * Section 4.1: curves on subtrain, subtest and test while the probe trains on growing subsets of subtrain.
 * `sizes` default to 10%, 25%, 50%, 75% and 100% of subtrain.
 */
export async function memorisationCurves(
  opts: Omit<CurveOptions, "train" | "evalSets" | "sizes"> & { train: Dataset; test: Dataset; sizes?: number[]; fraction?: number },
): Promise<{ subtrain: number; subtest: number; points: CurvePoint[] }> {
  const split = memorisationSplit(opts.train.n, opts.seed ?? 0, opts.fraction ?? 0.8);
  const subtrain = subsetRows(opts.train, split.subtrain);
  const subtest = subsetRows(opts.train, split.subtest);
  const sizes = opts.sizes ?? [0.1, 0.25, 0.5, 0.75, 1].map((f) => Math.max(1, Math.round(f * subtrain.n)));
  const points = await learningCurve({ ...opts, train: subtrain, evalSets: { subtrain, subtest, test: opts.test }, sizes });
  return { subtrain: subtrain.n, subtest: subtest.n, points };
}
