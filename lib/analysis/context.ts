/**
 * What every section carries through its steps: the budget, progress and log sinks, timings, and memoised task
 * views and fine-tuning runs (so one section asking twice for the same run does not even read its manifest twice).
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import { downloadBertFiles, looksLikeHubId } from "../model/hub";
import type { Task } from "../tasks/types";
import { argError, FtgeoError } from "../util/errors";
import type { ProgressSink } from "../util/progress";
import { resolveBudget, modelName, type AnalysisBudget, type Budget } from "./budget";
import { taskViews } from "./data";
import { ensureRun, type FinetuneRun } from "./runs";
import { RESULTS_VERSION, Timings, type ResultMeta, type SectionId } from "./results";
import { gridSpec } from "../probe/grid";
import { probeLayer, type LayerProbeResult } from "../probe/layer";
import { ensureModelReps, lazyEncoder, modelLayers } from "./reps";

export interface SectionOptions {
  /** "quick", "paper", or an edited budget object. */
  budget?: Budget | AnalysisBudget;
  /** Recompute even when a stored result exists (fine-tuning runs and vector caches are still reused). */
  refresh?: boolean;
  progress?: ProgressSink;
  log?: (line: string) => void;
  /** Folder with the task data (default: the repository's data/). */
  dataDir?: string;
  /**
   * Your own tasks (lib/tasks/user.ts loadUserTask / taskFromRows), usable by name in the budget's task lists
   * next to the built-in ones.
   */
  userTasks?: Task[];
}

export interface TaskViews {
  full: Task;
  finetune: Task;
  analysis: Task;
}

export class AnalysisContext {
  readonly budget: AnalysisBudget;
  readonly timings = new Timings();
  private views = new Map<string, TaskViews>();
  private runs = new Map<string, Promise<FinetuneRun>>();

  constructor(readonly opts: SectionOptions) {
    this.budget = resolveBudget(opts.budget ?? "quick");
  }

  /**
   * What the results cache key needs beyond the budget: the content of user tasks (a built-in task is fixed by its
   * name; a user task of the same name may hold other data next time). Null without user tasks.
   */
  cacheExtra(): unknown {
    const own = this.opts.userTasks ?? [];
    if (own.length === 0) return null;
    const h = crypto.createHash("sha256");
    for (const t of own) h.update(JSON.stringify({ name: t.name, kind: t.kind, labels: t.labels, splits: t.splits }));
    return { userTasks: h.digest("hex") };
  }

  log(line: string): void {
    (this.opts.log ?? ((l: string) => process.stderr.write(l + "\n")))(line);
  }

  get progress(): ProgressSink | undefined {
    return this.opts.progress;
  }

  modelName(spec: string): string {
    return modelName(this.budget, spec);
  }

  taskViews(task: string): TaskViews {
    let v = this.views.get(task);
    if (!v) {
      const own = this.opts.userTasks?.find((t) => t.name === task);
      v = taskViews(own ?? task, this.budget.finetune.data, this.budget.analysis, this.budget.seed, this.opts.dataDir);
      this.views.set(task, v);
    }
    return v;
  }

  /**
   * Make sure every model is available before hours of work start: folders must exist, hub ids are downloaded
   * (or found in the hub cache); random:<shape> needs nothing. Errors name the model and the way out.
   */
  async checkModels(models: string[]): Promise<void> {
    for (const m of [...new Set(models)]) {
      if (m.startsWith("random:") || fs.existsSync(m)) continue;
      if (!looksLikeHubId(m)) throw argError("model", `${JSON.stringify(m)} is neither a model folder, a Hugging Face id nor random:<shape>`);
      try {
        await downloadBertFiles(m);
      } catch (e) {
        if (e instanceof FtgeoError) {
          throw new FtgeoError(`the ${this.budget.name} budget needs the model ${m} (${this.modelName(m)}), which is not available here: ${e.message}`);
        }
        throw e;
      }
    }
  }

  /** The shared fine-tuning run of `model` on `task` (lib/analysis/runs.ts); timed under "finetune". */
  run(model: string, task: string): Promise<FinetuneRun> {
    const key = `${model}\u0000${task}`;
    let r = this.runs.get(key);
    if (!r) {
      const views = this.taskViews(task);
      this.log(`fine-tuning run: ${this.modelName(model)} on ${task}`);
      r = this.timings.time("finetune", () =>
        ensureRun({ model, task: views.finetune, settings: this.budget.finetune, progress: this.opts.progress, log: this.opts.log }),
      );
      this.runs.set(key, r);
    }
    return r;
  }

  /** Classifier-probe accuracy (grid, selection, seeds) of one layer of a model folder on the analysis view. */
  async probe(modelDir: string, task: string, layer?: number): Promise<LayerProbeResult> {
    const views = this.taskViews(task);
    const enc = await lazyEncoder(modelDir);
    const L = layer ?? (await modelLayers(modelDir)) - 1;
    try {
      return await this.timings.time("probe", () =>
        probeLayer({
          encoder: enc,
          task: views.analysis,
          layer: L,
          grid: gridSpec(this.budget.probe.grid),
          gridName: this.budget.probe.grid,
          seeds: this.budget.probe.seeds,
          maxIter: this.budget.probe.maxIter,
          seed: this.budget.seed,
          progress: this.opts.progress,
        }),
      );
    } finally {
      enc.dispose();
    }
  }

  /** Store every layer of these splits of the analysis view for a model folder; timed under "extract". */
  async extract(modelDir: string, task: string, splits: string[]): Promise<void> {
    const views = this.taskViews(task);
    await this.timings.time("extract", () => ensureModelReps(modelDir, views.analysis, splits, this.opts.progress));
  }

  /** The meta block of a result: budget, models, tasks and their sizes, seeds, timings and findings. */
  meta(section: SectionId, title: string, findings: string[], tasks: string[], models?: string[]): ResultMeta {
    const b = this.budget;
    const taskList = [...new Set(tasks)];
    const sizes: Record<string, Record<string, number>> = {};
    for (const t of taskList) {
      sizes[t] = this.analysisSizes(t);
      for (const [split, n] of Object.entries(this.finetuneSizes(t))) sizes[t][`finetune ${split}`] = n;
    }
    const modelList = [...new Set(models ?? b.models)];
    return {
      section,
      title,
      budget: b.name,
      settings: b,
      models: modelList.map((spec) => ({ spec, name: this.modelName(spec) })),
      tasks: taskList,
      sizes,
      seeds: { finetune: b.finetune.seed, data: b.seed, probe: Array.from({ length: b.probe.seeds }, (_, i) => b.seed + 1 + i) },
      timings: this.timings.done(),
      findings,
      createdAt: new Date().toISOString(),
      file: "",
      fromCache: false,
      version: RESULTS_VERSION,
    };
  }

  /** Examples per split of the analysis view of a task. */
  analysisSizes(task: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, split] of Object.entries(this.taskViews(task).analysis.splits)) out[name] = split.examples.length;
    return out;
  }

  /** Examples per split of the fine-tuning view of a task. */
  finetuneSizes(task: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, split] of Object.entries(this.taskViews(task).finetune.splits)) out[name] = split.examples.length;
    return out;
  }
}
