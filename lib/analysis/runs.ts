/**
 * The fine-tuning runs every section shares, one per (model, task, settings), under
 * cacheDir("runs", <model>, <task>, <settings hash>). Sections 4.1-4.5 ask for the same runs and get the same
 * folder: a finished run is read (its manifest says "done"), an interrupted one resumes from its last snapshot
 * (lib/train/finetune.ts), and only a missing one trains.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { finetune, type FinetuneResult } from "../train/finetune";
import { listSnapshots, readManifest, type SnapshotEntry } from "../train/snapshots";
import { bertShape, BERT_SHAPE_NAMES, type BertShapeName } from "../model/config";
import type { Task } from "../tasks/types";
import { FtgeoError } from "../util/errors";
import { cacheDir } from "../util/paths";
import type { ProgressSink } from "../util/progress";
import type { FinetuneSettings } from "./budget";

export interface FinetuneRun {
  model: string;
  task: string;
  dir: string;
  /** Every snapshot, step 0 (the original model) first, the final model last. */
  snapshots: SnapshotEntry[];
  /** Snapshot folder of the original model (step 0). */
  original: string;
  /** Snapshot folder of the fine-tuned model. */
  final: string;
  result: FinetuneResult;
  /** Seconds spent training in this call (0 when the run was read). */
  seconds: number;
  reused: boolean;
}

export interface RunRequest {
  model: string;
  /** The fine-tuning view of the task (lib/analysis/data.ts taskViews). */
  task: Task;
  settings: FinetuneSettings;
  progress?: ProgressSink;
  log?: (line: string) => void;
  /** Override the runs root (tests). */
  root?: string;
}

function safe(s: string): string {
  return s.replace(/[^A-Za-z0-9._~-]/g, "_");
}

/** Layers x hidden of a spec when it can be known without loading (random shapes), for the epoch default. */
function knownShape(model: string): { layers: number; hidden: number } | undefined {
  const m = /^random:([a-z]+)/.exec(model);
  if (m && BERT_SHAPE_NAMES.includes(m[1] as BertShapeName)) {
    const c = bertShape(m[1] as BertShapeName);
    return { layers: c.num_hidden_layers, hidden: c.hidden_size };
  }
  if (model === "bert-base-uncased") return { layers: 12, hidden: 768 };
  return undefined;
}

/** Updates of one epoch: sentences holding examples / batch (as lib/train/batches.ts counts them). */
function stepsPerEpoch(task: Task, batch: number): number {
  const used = new Set<number>();
  for (const ex of task.splits.train.examples) used.add(ex.sentence);
  return Math.ceil(used.size / batch);
}

export function runSettings(req: Pick<RunRequest, "model" | "task" | "settings">): Record<string, unknown> {
  const s = req.settings;
  return { model: req.model, task: req.task.name, epochs: s.epochs ?? null, batch: s.batch, microBatch: s.microBatch ?? null, lr: s.lr, seed: s.seed, snapshots: s.snapshots };
}

export function runDir(req: Pick<RunRequest, "model" | "task" | "settings" | "root">): string {
  const hash = crypto.createHash("sha256").update(JSON.stringify(runSettings(req))).digest("hex").slice(0, 12);
  // A folder is named by its last component (the hash above tells apart two folders of the same name).
  const modelPart = safe(fs.existsSync(req.model) ? path.basename(path.resolve(req.model)) : req.model);
  return path.join(req.root ?? cacheDir("runs"), modelPart, safe(req.task.name), hash);
}

function completedRun(dir: string, model: string, task: string): FinetuneRun | undefined {
  const manifest = readManifest(dir);
  if (!manifest || manifest.status !== "done" || !manifest.result) return undefined;
  const snapshots = listSnapshots(dir);
  const first = snapshots[0];
  const last = snapshots[snapshots.length - 1];
  if (!first || first.step !== 0 || !last || !last.final) return undefined;
  return { model, task, dir, snapshots, original: first.dir, final: last.dir, result: manifest.result as unknown as FinetuneResult, seconds: 0, reused: true };
}

/** The fine-tuning run of this model on this task with these settings: read when done, else trained (or resumed). */
export async function ensureRun(req: RunRequest): Promise<FinetuneRun> {
  const dir = runDir(req);
  const done = completedRun(dir, req.model, req.task.name);
  if (done) return done;
  const s = req.settings;
  const perEpoch = stepsPerEpoch(req.task, s.batch);
  const shape = knownShape(req.model);
  // finetune() picks 3 epochs for BERT-base-sized models itself when epochs is undefined; for the snapshot spacing
  // we need the count up front, so guess from the spec and fall back to 10 (an extra snapshot or two at most).
  const epochs = s.epochs ?? (shape && shape.layers >= 12 && shape.hidden >= 768 ? 3 : 10);
  const total = perEpoch * epochs;
  const snapshotEvery = Math.max(1, Math.ceil(total / Math.max(1, s.snapshots)));
  const t0 = Date.now();
  const result = await finetune({
    model: req.model,
    task: req.task,
    out: dir,
    epochs: s.epochs,
    batch: s.batch,
    microBatch: s.microBatch,
    lr: s.lr,
    seed: s.seed,
    snapshotEvery,
    progressSink: req.progress,
    log: req.log,
  });
  if (result.stopped) throw new FtgeoError(`fine-tuning ${req.model} on ${req.task.name} was stopped before the end; rerun to resume (${dir})`);
  const run = completedRun(dir, req.model, req.task.name);
  if (!run) throw new FtgeoError(`${dir}: fine-tuning ended but the run folder has no complete set of snapshots (step 0 and final)`);
  return { ...run, result, seconds: (Date.now() - t0) / 1000, reused: false };
}
