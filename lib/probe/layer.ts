/**
 * Probe one layer of a model on a task: fetch the layer's vectors from the representation store (extracting them
 * if needed) for train, test and (when present) dev, then run the grid / selection / seeds protocol with a
 * resumable results file under cacheDir("probe", <model id>, <task>).
 */
import * as crypto from "node:crypto";
import * as path from "node:path";
import type { Task } from "../tasks/types";
import { argError } from "../util/errors";
import { cacheDir } from "../util/paths";
import type { ProgressSink } from "../util/progress";
import { getLayer, type RepsEncoder } from "../reps/store";
import { runProbe, type GridSpec, type ProbeResult } from "./grid";
import type { Dataset } from "./mlp";

export interface LayerProbeOptions {
  encoder: RepsEncoder;
  task: Task;
  layer: number;
  grid: GridSpec;
  /** Name of the grid for the results file ("full", "small" or the custom text). */
  gridName: string;
  seeds?: number;
  maxIter?: number;
  /** Seeded subset of at most this many examples per split (quick budgets). */
  limit?: number;
  seed?: number;
  /** Select on dev (default when the task has one) or on a held-out part of train. */
  select?: "dev" | "held-out";
  progress?: ProgressSink;
}

export interface LayerProbeResult extends ProbeResult {
  task: string;
  layer: number;
  checkpointId: string;
  n: { train: number; test: number; dev: number | null };
  dim: number;
  resultsFile: string;
}

/** One split's vectors of one layer as a probe dataset. */
export async function layerDataset(
  encoder: RepsEncoder,
  task: Task,
  split: string,
  layer: number,
  opts: { limit?: number; seed?: number; progress?: ProgressSink } = {},
): Promise<Dataset> {
  const d = await getLayer({ encoder, task, split, limit: opts.limit, seed: opts.seed, progress: opts.progress }, layer);
  return { x: d.data, y: d.labels, n: d.n, dim: d.dim };
}

export async function probeLayer(opts: LayerProbeOptions): Promise<LayerProbeResult> {
  const { encoder, task, layer } = opts;
  if (!(Number.isInteger(layer) && layer >= 0 && layer < encoder.numLayers)) {
    throw argError("layer", `expected 0..${encoder.numLayers - 1} (0 = embeddings), got ${layer}`);
  }
  const select = opts.select ?? (task.splits.dev ? "dev" : "held-out");
  if (select === "dev" && !task.splits.dev) throw argError("select", `task ${task.name} has no dev split; use held-out`);
  if (!task.splits.train || !task.splits.test) throw argError("task", `task ${task.name} needs train and test splits`);
  const common = { limit: opts.limit, seed: opts.seed, progress: opts.progress };
  const train = await layerDataset(encoder, task, "train", layer, common);
  const test = await layerDataset(encoder, task, "test", layer, common);
  const dev = select === "dev" ? await layerDataset(encoder, task, "dev", layer, common) : undefined;
  const settings = { grid: opts.gridName, seeds: opts.seeds ?? 5, maxIter: opts.maxIter ?? 1000, limit: opts.limit ?? null, seed: opts.seed ?? 0, select };
  const tag = crypto.createHash("sha256").update(JSON.stringify(settings)).digest("hex").slice(0, 12);
  const resultsFile = path.join(cacheDir("probe", encoder.id, task.name), `mlp-layer${layer}-${tag}.json`);
  const result = await runProbe({
    train,
    test,
    dev,
    numClasses: task.labels.length,
    grid: opts.grid,
    seeds: settings.seeds,
    maxIter: settings.maxIter,
    seed: settings.seed,
    cacheFile: resultsFile,
    key: `${encoder.id}/${task.name}/layer${layer}`,
    progress: opts.progress,
  });
  return {
    ...result,
    task: task.name,
    layer,
    checkpointId: encoder.id,
    n: { train: train.n, test: test.n, dev: dev ? dev.n : null },
    dim: train.dim,
    resultsFile,
  };
}
