/**
 * Compute budgets of the paper's analyses. `paper`: the paper's five models (Hugging Face ids) and full settings;
 * `quick`: the embedded model (random:tiny until one exists under models/), subsampled data and few epochs, so that
 * every section finishes in minutes on a 2-core machine. A budget is plain data: a notebook can copy one, edit a
 * field (a task, a size) and pass it to any section.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { defaultModelFolder } from "../reps/encoder";
import type { Budget } from "../notebook/budget";
import { parseBudget } from "../notebook/budget";
import { argError } from "../util/errors";

export type { Budget };

/** How many examples of each split an analysis uses; undefined = the whole split. */
export interface SplitSizes {
  train?: number;
  dev?: number;
  test?: number;
}

export interface FinetuneSettings {
  /** undefined = the paper's recipe (10 epochs, 3 for BERT-base-sized models). */
  epochs?: number;
  batch: number;
  /** Sentences per forward pass (gradient accumulation); undefined = the batch. */
  microBatch?: number;
  lr: number;
  seed: number;
  /** Snapshots per run (evenly spaced updates, plus step 0): the dynamics of 4.3 and 4.5. */
  snapshots: number;
  /** Examples of each split the fine-tuning sees (whole sentences are kept). */
  data: SplitSizes;
}

export interface ProbeSettings {
  /** Grid name for lib/probe/grid.ts gridSpec: "full", "small" or e.g. "64x64/1e-4". */
  grid: string;
  seeds: number;
  maxIter: number;
}

export interface AnalysisBudget {
  name: Budget;
  /** Model specs: folders, Hugging Face ids or random:<shape>. */
  models: string[];
  /** Display names of the model specs (e.g. google/bert_uncased_L-2_H-128_A-2 -> BERT-tiny). */
  modelNames: Record<string, string>;
  /** Why these models (e.g. "random:tiny: no embedded model under models/ yet"). */
  modelNote: string;
  tasks: string[];
  finetune: FinetuneSettings;
  /**
   * Examples of each split the probes and DirectProbe use: a subset of the fine-tuning data (train) so that the
   * memorisation experiment's subtest was seen in fine-tuning; undefined sizes take the whole split.
   */
  analysis: SplitSizes;
  probe: ProbeSettings;
  /** 4.1 memorisation experiment: one model x task, learning-curve sizes as fractions of subtrain. */
  memorisation: { model: string; task: string; fractions: number[]; seeds: number; hidden: [number, number]; alpha: number };
  /** 4.3: the model and task of the minimum-distance dynamics and centroid paths. */
  spatial: { model: string; task: string };
  /** 4.4: fine-tune on each source task, probe the target task. */
  crossTask: { model: string; target: string; sources: string[] };
  /** 4.5: the model and task of the per-layer analyses. */
  layers: { model: string; task: string };
  /** Seed of every data subset. */
  seed: number;
}

export const PAPER_MODELS: Record<string, string> = {
  "google/bert_uncased_L-2_H-128_A-2": "BERT-tiny",
  "google/bert_uncased_L-4_H-256_A-4": "BERT-mini",
  "google/bert_uncased_L-4_H-512_A-8": "BERT-small",
  "google/bert_uncased_L-8_H-512_A-8": "BERT-medium",
  "bert-base-uncased": "BERT-base",
};

export const PAPER_TASKS = ["pos", "dep", "ps-role", "ps-fxn", "trec50"];

/**
 * What the embedded model's pretraining.json says about it, so that every result built on it carries the caveat that
 * it is a small model pretrained here, not one of the paper's checkpoints.
 */
function pretrainingSummary(dir: string): string {
  const file = path.join(dir, "pretraining.json");
  if (!fs.existsSync(file)) return "";
  const p = JSON.parse(fs.readFileSync(file, "utf8")) as { tokensSeen?: number; heldOut?: { accuracy?: number | null } };
  const tokens = p.tokensSeen ? `${(p.tokensSeen / 1e6).toFixed(1)}M tokens` : "an unknown number of tokens";
  const acc = typeof p.heldOut?.accuracy === "number" ? `, held-out masked-token accuracy ${(100 * p.heldOut.accuracy).toFixed(1)}%` : "";
  return `: a miniature pretrained by this project on ${tokens}${acc}, not Google's BERT-tiny, so its numbers check the pipeline rather than the paper`;
}

/** The embedded model folder, or random:tiny while none exists (the results say which). */
export function quickModel(): { spec: string; name: string; note: string } {
  const dir = defaultModelFolder();
  if (dir) {
    const name = dir.split(/[\\/]/).pop() ?? dir;
    return { spec: dir, name, note: `the embedded model ${name} (models/)${pretrainingSummary(dir)}` };
  }
  return { spec: "random:tiny", name: "random BERT-tiny", note: "random:tiny (a randomly initialised BERT-tiny): no embedded model under models/ yet" };
}

export function paperBudget(): AnalysisBudget {
  const base = "bert-base-uncased";
  return {
    name: "paper",
    models: Object.keys(PAPER_MODELS),
    modelNames: { ...PAPER_MODELS },
    modelNote: "the paper's five models from the Hugging Face hub",
    tasks: [...PAPER_TASKS],
    // Micro-batches of 8 (gradient accumulation, the same updates) keep BERT-base within the 4 GiB wasm heap.
    finetune: { batch: 32, microBatch: 8, lr: 3e-4, seed: 1, snapshots: 10, data: {} },
    analysis: {},
    probe: { grid: "full", seeds: 5, maxIter: 1000 },
    memorisation: { model: "google/bert_uncased_L-4_H-512_A-8", task: "ps-fxn", fractions: [0.1, 0.25, 0.5, 0.75, 1], seeds: 3, hidden: [256, 256], alpha: 1e-4 },
    spatial: { model: base, task: "pos" },
    crossTask: { model: base, target: "ps-fxn", sources: ["ps-role", "pos"] },
    layers: { model: base, task: "pos" },
    seed: 0,
  };
}

export function quickBudget(): AnalysisBudget {
  const m = quickModel();
  return {
    name: "quick",
    models: [m.spec],
    modelNames: { [m.spec]: m.name },
    modelNote: m.note,
    tasks: ["pos", "ps-role", "ps-fxn", "trec50"],
    // Tiny data and a short schedule: the point is a run of every step of the pipeline in minutes.
    finetune: { epochs: 3, batch: 16, lr: 3e-4, seed: 1, snapshots: 4, data: { train: 1200, dev: 200, test: 400 } },
    analysis: { train: 600, dev: 200, test: 300 },
    probe: { grid: "64x64/1e-4,1e-2", seeds: 2, maxIter: 150 },
    memorisation: { model: m.spec, task: "pos", fractions: [0.25, 0.5, 1], seeds: 2, hidden: [64, 64], alpha: 1e-4 },
    spatial: { model: m.spec, task: "pos" },
    crossTask: { model: m.spec, target: "ps-fxn", sources: ["ps-role", "pos"] },
    layers: { model: m.spec, task: "pos" },
    seed: 0,
  };
}

/** A budget by name, or the given budget (a notebook's edited copy) as is. */
export function resolveBudget(b: Budget | AnalysisBudget | string): AnalysisBudget {
  if (typeof b === "object") return b;
  const name = parseBudget(b);
  return name === "paper" ? paperBudget() : quickBudget();
}

/** The display name of a model spec under a budget. */
export function modelName(budget: AnalysisBudget, spec: string): string {
  return budget.modelNames[spec] ?? spec;
}

/**
 * Restrict a budget to one model and/or task (the CLI's --model / --task, a notebook's edited cell): every section
 * then runs on them, including the single-model sections (4.3-4.5) and the memorisation experiment.
 */
export function narrowBudget(budget: AnalysisBudget, opts: { model?: string; task?: string }): AnalysisBudget {
  const b: AnalysisBudget = JSON.parse(JSON.stringify(budget)) as AnalysisBudget;
  if (opts.model) {
    b.models = [opts.model];
    b.modelNames[opts.model] ??= budget.modelNames[opts.model] ?? opts.model;
    b.memorisation.model = opts.model;
    b.spatial.model = opts.model;
    b.crossTask.model = opts.model;
    b.layers.model = opts.model;
  }
  if (opts.task) {
    if (!opts.task.trim()) throw argError("--task", "is empty");
    b.tasks = [opts.task];
    b.memorisation.task = opts.task;
    b.spatial.task = opts.task;
    b.layers.task = opts.task;
  }
  return b;
}
