/**
 * Section 4.1, fine-tuned performance: does fine-tuning always improve what a probe can read from the last layer?
 * - classifier-probe accuracy (mean +- std over seeds) of the original and the fine-tuned model, per model x task;
 * - DirectProbe spatial similarity of the train and test sets (each clustered separately), before and after;
 * - memorisation: split the analysis train set 80:20 into subtrain / subtest (the fine-tuning saw all of it), train
 *   probes on growing parts of subtrain, and compare accuracy on subtrain, subtest and test.
 */
import { memorisationCurves, type CurvePoint } from "../probe/curves";
import { AnalysisContext, type SectionOptions } from "./context";
import { spaceGeometry, spaceSimilarity, type GeometrySummary, summarize } from "./geometry";
import { modelLayer, modelLayers } from "./reps";
import { cachedResult, resultFile, type ResultMeta, type SectionResult } from "./results";
import { fmt, pct, countPhrase } from "./findings";

export interface AccuracyStat {
  mean: number;
  std: number;
  /** Test accuracy of each retraining seed. */
  values: number[];
  best: { hidden: [number, number]; alpha: number } | null;
}

export interface PerformanceRow {
  model: string;
  modelName: string;
  task: string;
  layer: number;
  numLabels: number;
  original: AccuracyStat;
  finetuned: AccuracyStat;
  /** finetuned.mean - original.mean */
  change: number;
  /** Test accuracy of the fine-tuning's own classification head (on the fine-tuning test subset). */
  headTestAccuracy: number | null;
  /** Pearson correlation of the train and test distance vectors (null when fewer than 2 label pairs are shared). */
  trainTestSimilarity: { original: number | null; finetuned: number | null };
  /** DirectProbe summaries of train (and test) before and after. */
  geometry: { original: { train: GeometrySummary; test: GeometrySummary }; finetuned: { train: GeometrySummary; test: GeometrySummary } };
  finetuneRun: string;
}

export interface MemorisationResult {
  model: string;
  modelName: string;
  task: string;
  layer: number;
  subtrain: number;
  subtest: number;
  test: number;
  original: CurvePoint[];
  finetuned: CurvePoint[];
  /**
   * At the largest training size: accuracy on subtrain minus subtest, and subtest minus test, for each model.
   * Memorisation shows as a small subtrain-subtest gap and a large subtest-test gap after fine-tuning.
   */
  gaps: { original: { subtrainMinusSubtest: number; subtestMinusTest: number }; finetuned: { subtrainMinusSubtest: number; subtestMinusTest: number } };
}

export interface PerformanceResults extends SectionResult {
  rows: PerformanceRow[];
  memorisation: MemorisationResult | null;
}

export const TITLE_41 = "4.1 Fine-tuned performance";

async function accuracy(ctx: AnalysisContext, dir: string, task: string, layer: number): Promise<AccuracyStat> {
  const r = await ctx.probe(dir, task, layer);
  return { mean: r.mean, std: r.std, values: r.seeds.map((s) => s.testAccuracy), best: r.best ? { hidden: r.best.hidden, alpha: r.best.alpha } : null };
}

async function performanceRow(ctx: AnalysisContext, model: string, task: string): Promise<PerformanceRow> {
  const run = await ctx.run(model, task);
  const layer = (await modelLayers(run.final)) - 1;
  const views = ctx.taskViews(task);
  const splits = Object.keys(views.analysis.splits);
  await ctx.extract(run.original, task, splits);
  await ctx.extract(run.final, task, splits);
  ctx.log(`4.1 ${ctx.modelName(model)} / ${task}: classifier probes (original, fine-tuned)`);
  const original = await accuracy(ctx, run.original, task, layer);
  const finetuned = await accuracy(ctx, run.final, task, layer);
  ctx.log(`4.1 ${ctx.modelName(model)} / ${task}: DirectProbe on train and test (original, fine-tuned)`);
  const geo = async (dir: string, split: string) => spaceGeometry(ctx, dir, task, split, layer);
  const g = {
    original: { train: await geo(run.original, "train"), test: await geo(run.original, "test") },
    finetuned: { train: await geo(run.final, "train"), test: await geo(run.final, "test") },
  };
  return {
    model,
    modelName: ctx.modelName(model),
    task,
    layer,
    numLabels: g.original.train.labels.length,
    original,
    finetuned,
    change: finetuned.mean - original.mean,
    headTestAccuracy: run.result.testAccuracy,
    trainTestSimilarity: {
      original: spaceSimilarity(g.original.train, g.original.test),
      finetuned: spaceSimilarity(g.finetuned.train, g.finetuned.test),
    },
    geometry: {
      original: { train: summarize(g.original.train), test: summarize(g.original.test) },
      finetuned: { train: summarize(g.finetuned.train), test: summarize(g.finetuned.test) },
    },
    finetuneRun: run.dir,
  };
}

async function memorisation(ctx: AnalysisContext): Promise<MemorisationResult> {
  const m = ctx.budget.memorisation;
  const run = await ctx.run(m.model, m.task);
  const layer = (await modelLayers(run.final)) - 1;
  const views = ctx.taskViews(m.task);
  const curves = async (dir: string): Promise<{ subtrain: number; subtest: number; test: number; points: CurvePoint[] }> => {
    const train = await ctx.timings.time("extract", () => modelLayer(dir, views.analysis, "train", layer, ctx.progress));
    const test = await ctx.timings.time("extract", () => modelLayer(dir, views.analysis, "test", layer, ctx.progress));
    const ds = (d: typeof train) => ({ x: d.data, y: d.labels, n: d.n, dim: d.dim });
    const r = await ctx.timings.time("memorisation curves", () =>
      memorisationCurves({
        train: ds(train),
        test: ds(test),
        numClasses: views.analysis.labels.length,
        hidden: m.hidden,
        alpha: m.alpha,
        seeds: m.seeds,
        maxIter: ctx.budget.probe.maxIter,
        seed: ctx.budget.seed,
        // memorisationCurves splits 80:20 with Math.round; the budget's fractions are of that subtrain.
        sizes: m.fractions.map((f) => Math.max(1, Math.round(f * Math.round(train.n * 0.8)))),
        progress: ctx.progress,
      }),
    );
    return { ...r, test: test.n };
  };
  ctx.log(`4.1 memorisation: ${ctx.modelName(m.model)} / ${m.task}: learning curves on subtrain, subtest, test`);
  const original = await curves(run.original);
  const finetuned = await curves(run.final);
  const gaps = (points: CurvePoint[]) => {
    const last = points[points.length - 1].accuracy;
    return { subtrainMinusSubtest: last.subtrain.mean - last.subtest.mean, subtestMinusTest: last.subtest.mean - last.test.mean };
  };
  return {
    model: m.model,
    modelName: ctx.modelName(m.model),
    task: m.task,
    layer,
    subtrain: original.subtrain,
    subtest: original.subtest,
    test: original.test,
    original: original.points,
    finetuned: finetuned.points,
    gaps: { original: gaps(original.points), finetuned: gaps(finetuned.points) },
  };
}

export function performanceFindings(rows: PerformanceRow[], mem: MemorisationResult | null): string[] {
  const out: string[] = [];
  if (rows.length > 0) {
    const up = rows.filter((r) => r.change > 0);
    out.push(`Fine-tuning raised the probe accuracy of the last layer on ${countPhrase(up.length, rows.length, "model x task pair")}.`);
    for (const r of rows.filter((x) => x.change <= 0)) {
      out.push(`${r.modelName} on ${r.task}: probe accuracy ${pct(r.original.mean)} before, ${pct(r.finetuned.mean)} after fine-tuning (no gain).`);
    }
    const both = rows.filter((r) => r.trainTestSimilarity.original !== null && r.trainTestSimilarity.finetuned !== null);
    if (both.length > 0) {
      const dropped = both.filter((r) => r.trainTestSimilarity.finetuned! < r.trainTestSimilarity.original!);
      out.push(`Train/test spatial similarity dropped after fine-tuning on ${countPhrase(dropped.length, both.length, "pair")}.`);
      const lowest = both.reduce((a, b) => (b.trainTestSimilarity.finetuned! < a.trainTestSimilarity.finetuned! ? b : a));
      out.push(`Lowest train/test similarity after fine-tuning: ${lowest.modelName} on ${lowest.task} (${fmt(lowest.trainTestSimilarity.finetuned!)}).`);
    }
  }
  if (mem) {
    const o = mem.gaps.original;
    const f = mem.gaps.finetuned;
    out.push(
      `Memorisation (${mem.modelName}, ${mem.task}): at the largest probe training size, subtrain - subtest accuracy is ${pct(o.subtrainMinusSubtest, true)} ` +
        `for the original model and ${pct(f.subtrainMinusSubtest, true)} after fine-tuning; subtest - test is ${pct(o.subtestMinusTest, true)} and ${pct(f.subtestMinusTest, true)}.`,
    );
    out.push(
      f.subtestMinusTest > o.subtestMinusTest
        ? "After fine-tuning the held-out part of train (subtest) behaves more like training data than the test set does."
        : "In this run, fine-tuning did not make subtest behave more like training data than before.",
    );
  }
  return out;
}

/** Section 4.1 under a budget (read from the results cache when computed before). */
export async function runPerformance(opts: SectionOptions = {}): Promise<PerformanceResults> {
  const ctx = new AnalysisContext(opts);
  const b = ctx.budget;
  return cachedResult(resultFile("4.1", b, ctx.cacheExtra()), async () => {
    await ctx.checkModels([...b.models, b.memorisation.model]);
    const rows: PerformanceRow[] = [];
    for (const model of b.models) for (const task of b.tasks) rows.push(await performanceRow(ctx, model, task));
    const mem = await memorisation(ctx);
    const meta: ResultMeta = ctx.meta("4.1", TITLE_41, performanceFindings(rows, mem), [...b.tasks, b.memorisation.task]);
    return { meta, rows, memorisation: mem };
  }, opts.refresh);
}
