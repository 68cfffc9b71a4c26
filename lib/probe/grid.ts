/**
 * The paper's probing protocol: grid search over the two hidden sizes and the L2 weight, selected on dev (when
 * given) or on a seeded held-out part of train, then the best configuration retrained from scratch with several
 * seeds on all of train; report mean and standard deviation of test accuracy.
 *
 * Results are cached in one JSON file written atomically after every configuration, so an interrupted grid
 * continues where it stopped (the key records data, grid and settings; a different key starts over).
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import { writeJsonAtomic } from "../util/atomic";
import { argError } from "../util/errors";
import { Progress, type ProgressSink } from "../util/progress";
import { Rng } from "../util/rng";
import type { Dataset } from "./mlp";
import { defaultWorkers, ProbePool, type TrainJob } from "./pool";

export interface GridSpec {
  hidden: [number, number][];
  alphas: number[];
}

const SIZES = [32, 64, 128, 256];
/** 10^-7 .. 10^0: the paper's "1e-7 .. 1". */
const ALPHAS = [1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1];

/**
 * full: the paper's 4 x 4 hidden sizes x 8 alphas (128 configurations).
 * small: 2 x 2 hidden sizes x 3 alphas (12), for quick notebook runs.
 * Custom: "h1xh2,h1xh2/alpha,alpha", e.g. "64x64,256x128/1e-4,1e-2".
 */
export function gridSpec(name: string): GridSpec {
  if (name === "full") return { hidden: SIZES.flatMap((a) => SIZES.map((b) => [a, b] as [number, number])), alphas: ALPHAS };
  if (name === "small") return { hidden: [[64, 64], [64, 256], [256, 64], [256, 256]], alphas: [1e-6, 1e-3, 1] };
  const m = /^([0-9x,]+)\/([0-9eE.,+-]+)$/.exec(name);
  if (m) {
    const hidden = m[1].split(",").map((h) => {
      const parts = h.split("x").map(Number);
      if (parts.length !== 2 || parts.some((p) => !Number.isInteger(p) || p <= 0)) throw argError("grid", `bad hidden pair ${JSON.stringify(h)} (expected e.g. 64x128)`);
      return parts as [number, number];
    });
    const alphas = m[2].split(",").map(Number);
    if (alphas.some((a) => !Number.isFinite(a) || a < 0)) throw argError("grid", `bad alpha list ${JSON.stringify(m[2])}`);
    return { hidden, alphas };
  }
  throw argError("grid", `expected full, small or a custom grid like "64x64,256x256/1e-4,1e-2", got ${JSON.stringify(name)}`);
}

export interface ProbeOptions {
  train: Dataset;
  test: Dataset;
  /** Selection set; without it a held-out part of train is used. */
  dev?: Dataset;
  numClasses: number;
  grid: GridSpec;
  /** Retraining seeds of the best configuration (default 5). */
  seeds?: number;
  /** Epoch cap (default 1000, the paper's). */
  maxIter?: number;
  /** Fraction of train held out for selection when there is no dev (default 0.1). */
  heldOut?: number;
  /** Seed of the held-out split and of the grid's trainings (retraining uses seed+1 .. seed+seeds). */
  seed?: number;
  /** Resumable results file (JSON). */
  cacheFile?: string;
  /** Extra identity for the cache key (e.g. checkpoint / task / layer). */
  key?: string;
  progress?: ProgressSink;
  /** Parallel trainings (worker threads; default: the machine's cores, FTGEO_PROBE_WORKERS overrides). */
  workers?: number;
}

export interface ConfigResult {
  hidden: [number, number];
  alpha: number;
  selectionAccuracy: number;
  epochs: number;
  seconds: number;
}

export interface SeedResult {
  seed: number;
  testAccuracy: number;
  trainAccuracy: number;
  epochs: number;
  converged: boolean;
  seconds: number;
}

export interface ProbeResult {
  key: string;
  selection: "dev" | "held-out";
  grid: ConfigResult[];
  best: { hidden: [number, number]; alpha: number; selectionAccuracy: number } | null;
  seeds: SeedResult[];
  mean: number;
  /** Population standard deviation (numpy's default) of the seeds' test accuracies. */
  std: number;
  maxIter: number;
  /** Training time (sum over configurations and seeds, including earlier interrupted runs; CPU-seconds with workers). */
  seconds: number;
  done: boolean;
}

function datasetDigest(ds: Dataset): string {
  // Size, labels and a strided sample of the values: enough to tell different data apart without hashing GBs.
  const h = crypto.createHash("sha256");
  h.update(`${ds.n}x${ds.dim};`);
  h.update(Buffer.from(ds.y.buffer, ds.y.byteOffset, ds.y.byteLength));
  const step = Math.max(1, Math.floor(ds.x.length / 65536));
  const sample = new Float32Array(Math.ceil(ds.x.length / step));
  for (let i = 0, j = 0; i < ds.x.length; i += step, j++) sample[j] = ds.x[i];
  h.update(Buffer.from(sample.buffer));
  return h.digest("hex").slice(0, 16);
}

export function meanStd(xs: number[]): { mean: number; std: number } {
  if (xs.length === 0) return { mean: NaN, std: NaN };
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
  return { mean, std };
}

/** Grid search, selection and retraining with several seeds (resumable when cacheFile is given). */
export async function runProbe(opts: ProbeOptions): Promise<ProbeResult> {
  const seeds = opts.seeds ?? 5;
  const maxIter = opts.maxIter ?? 1000;
  const seed = opts.seed ?? 0;
  const heldOut = opts.heldOut ?? 0.1;
  if (!(heldOut > 0 && heldOut < 1)) throw argError("heldOut", `expected a fraction in (0, 1), got ${heldOut}`);
  if (!(Number.isInteger(seeds) && seeds >= 1)) throw argError("seeds", `expected a positive integer, got ${seeds}`);
  if (opts.grid.hidden.length === 0 || opts.grid.alphas.length === 0) throw argError("grid", "is empty");
  const { train, test, dev, numClasses } = opts;
  const key = JSON.stringify({
    key: opts.key ?? "",
    train: datasetDigest(train),
    test: datasetDigest(test),
    dev: dev ? datasetDigest(dev) : null,
    numClasses,
    grid: opts.grid,
    seeds,
    maxIter,
    seed,
    heldOut: dev ? null : heldOut,
    version: 1,
  });

  let result: ProbeResult = {
    key,
    selection: dev ? "dev" : "held-out",
    grid: [],
    best: null,
    seeds: [],
    mean: NaN,
    std: NaN,
    maxIter,
    seconds: 0,
    done: false,
  };
  if (opts.cacheFile && fs.existsSync(opts.cacheFile)) {
    try {
      const cached = JSON.parse(fs.readFileSync(opts.cacheFile, "utf8")) as ProbeResult;
      if (cached.key === key) result = cached;
    } catch {
      // An unreadable cache is recomputed.
    }
  }
  if (result.done) return result;
  const save = () => {
    if (opts.cacheFile) writeJsonAtomic(opts.cacheFile, result);
  };

  // Selection rows: dev, or a seeded held-out part of train (the grid trains on the rest).
  let fitRows: Int32Array | undefined;
  let selRows: Int32Array | undefined;
  if (!dev) {
    const perm = new Rng(seed ^ 0x5eed).permutation(train.n);
    const nSel = Math.max(1, Math.round(train.n * heldOut));
    selRows = Int32Array.from(perm.slice(0, nSel)).sort();
    fitRows = Int32Array.from(perm.slice(nSel)).sort();
  }

  const configs = opts.grid.hidden.flatMap((h) => opts.grid.alphas.map((a) => ({ hidden: h, alpha: a })));
  const same = (r: { hidden: [number, number]; alpha: number }, c: { hidden: [number, number]; alpha: number }) =>
    r.hidden[0] === c.hidden[0] && r.hidden[1] === c.hidden[1] && r.alpha === c.alpha;
  const total = configs.length + seeds;
  const progress = new Progress("probe grid", total, "configs", opts.progress, result.grid.length + result.seeds.length);
  const pool = new ProbePool({ train, dev, test, numClasses }, opts.workers ?? defaultWorkers());
  try {
    const todo = configs.filter((c) => !result.grid.some((r) => same(r, c)));
    await Promise.all(
      todo.map(async (c) => {
        const job: TrainJob = {
          cfg: { hidden: c.hidden, alpha: c.alpha, seed, maxIter },
          rows: fitRows,
          evaluate: [dev ? { set: "dev" } : { set: "train", rows: selRows }],
        };
        const r = await pool.run(job);
        const acc = r.accuracies[0];
        result.grid.push({ hidden: c.hidden, alpha: c.alpha, selectionAccuracy: acc, epochs: r.info.epochs, seconds: r.info.seconds });
        result.seconds += r.info.seconds;
        save();
        const bestSoFar = Math.max(...result.grid.map((g) => g.selectionAccuracy));
        progress.update(result.grid.length + result.seeds.length, 1, { hidden: c.hidden.join("x"), alpha: c.alpha, acc, best: bestSoFar, epochs: r.info.epochs });
      }),
    );
    // Grid order, whatever order the workers finished in; ties go to the configuration listed first.
    result.grid.sort((a, b) => configs.findIndex((c) => same(a, c)) - configs.findIndex((c) => same(b, c)));
    let best = result.grid[0];
    for (const r of result.grid) if (r.selectionAccuracy > best.selectionAccuracy) best = r;
    result.best = { hidden: best.hidden, alpha: best.alpha, selectionAccuracy: best.selectionAccuracy };
    save();

    const seedList = Array.from({ length: seeds }, (_, s) => seed + 1 + s).filter((sd) => !result.seeds.some((r) => r.seed === sd));
    await Promise.all(
      seedList.map(async (sd) => {
        const r = await pool.run({ cfg: { hidden: best.hidden, alpha: best.alpha, seed: sd, maxIter }, evaluate: [{ set: "test" }, { set: "train" }] });
        result.seeds.push({ seed: sd, testAccuracy: r.accuracies[0], trainAccuracy: r.accuracies[1], epochs: r.info.epochs, converged: r.info.converged, seconds: r.info.seconds });
        result.seconds += r.info.seconds;
        save();
        progress.update(result.grid.length + result.seeds.length, 1, { seed: sd, test: r.accuracies[0], epochs: r.info.epochs });
      }),
    );
    result.seeds.sort((a, b) => a.seed - b.seed);
  } finally {
    await pool.close();
  }
  const ms = meanStd(result.seeds.map((r) => r.testAccuracy));
  result.mean = ms.mean;
  result.std = ms.std;
  result.done = true;
  save();
  progress.finish(total, { mean: ms.mean, std: ms.std });
  return result;
}
