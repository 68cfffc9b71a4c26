/**
 * Section 4.4, cross-task fine-tuning: fine-tune on a similar task (ps-role) and on a contradicting one (pos),
 * then look at another task (ps-fxn) in the last layer: which labels' minimum distances rose or fell against the
 * original model, the mean change, DirectProbe's nearest-cluster accuracy and the classifier probe's accuracy.
 */
import { AnalysisContext, type SectionOptions } from "./context";
import { directAccuracy, spaceGeometry, type SpaceGeometry } from "./geometry";
import { modelLayers } from "./reps";
import { cachedResult, resultFile, type SectionResult } from "./results";
import { pct, signed } from "./findings";

export interface LabelChange {
  label: string;
  original: number;
  finetuned: number;
  change: number;
}

export interface SpaceScores {
  /** DirectProbe: test points take the label of the nearest train cluster. */
  directAccuracy: number;
  /** Classifier probe: mean and std over seeds. */
  classifier: { mean: number; std: number };
  clusters: number;
  linear: boolean;
}

export interface CrossTaskSource {
  source: string;
  scores: SpaceScores;
  labels: LabelChange[];
  increased: number;
  decreased: number;
  unchanged: number;
  meanChange: number;
  finetuneRun: string;
}

export interface CrossTaskResults extends SectionResult {
  model: string;
  modelName: string;
  target: string;
  layer: number;
  original: SpaceScores;
  sources: CrossTaskSource[];
}

export const TITLE_44 = "4.4 Cross-task fine-tuning";

/** Per-label minimum-distance change between two geometries over the labels both have. */
export function minDistanceChanges(before: SpaceGeometry, after: SpaceGeometry, names: string[]): LabelChange[] {
  const out: LabelChange[] = [];
  before.labels.forEach((l, i) => {
    const j = after.labels.indexOf(l);
    if (j < 0) return;
    const o = before.minDistance[i];
    const f = after.minDistance[j];
    if (!Number.isFinite(o) || !Number.isFinite(f)) return;
    out.push({ label: names[l], original: o, finetuned: f, change: f - o });
  });
  return out;
}

export function crossTaskFindings(r: Omit<CrossTaskResults, "meta">): string[] {
  const out: string[] = [];
  out.push(
    `${r.target} with the original ${r.modelName}: classifier probe ${pct(r.original.classifier.mean)}, DirectProbe prediction ${pct(r.original.directAccuracy)}.`,
  );
  for (const s of r.sources) {
    out.push(
      `After fine-tuning on ${s.source}: classifier probe ${pct(s.scores.classifier.mean)} (${pct(s.scores.classifier.mean - r.original.classifier.mean, true)}), ` +
        `DirectProbe ${pct(s.scores.directAccuracy)}; minimum distance increased for ${s.increased} and decreased for ${s.decreased} of ${s.labels.length} labels, ` +
        `mean change ${signed(s.meanChange)}.`,
    );
  }
  if (r.sources.length >= 2) {
    const best = r.sources.reduce((a, b) => (b.scores.classifier.mean > a.scores.classifier.mean ? b : a));
    const worst = r.sources.reduce((a, b) => (b.scores.classifier.mean < a.scores.classifier.mean ? b : a));
    out.push(`Fine-tuning on ${best.source} left ${r.target} most accessible to the probe, on ${worst.source} least.`);
  }
  return out;
}

export async function runCrossTask(opts: SectionOptions = {}): Promise<CrossTaskResults> {
  const ctx = new AnalysisContext(opts);
  const b = ctx.budget;
  const { model, target, sources } = b.crossTask;
  return cachedResult(resultFile("4.4", b, ctx.cacheExtra()), async () => {
    await ctx.checkModels([model]);
    const names = ctx.taskViews(target).analysis.labels;
    const scores = async (dir: string, layer: number): Promise<{ s: SpaceScores; g: SpaceGeometry }> => {
      await ctx.extract(dir, target, Object.keys(ctx.taskViews(target).analysis.splits));
      const g = await spaceGeometry(ctx, dir, target, "train", layer);
      const acc = await directAccuracy(ctx, dir, target, layer);
      const c = await ctx.probe(dir, target, layer);
      return { s: { directAccuracy: acc, classifier: { mean: c.mean, std: c.std }, clusters: g.numClusters, linear: g.linear }, g };
    };
    // The original encoder is step 0 of any of the runs (the same pretrained weights; a random model draws them
    // from the fine-tuning seed, the same for every task).
    const firstRun = await ctx.run(model, sources[0]);
    const layer = (await modelLayers(firstRun.final)) - 1;
    ctx.log(`4.4 ${ctx.modelName(model)}: ${target} with the original model`);
    const orig = await scores(firstRun.original, layer);
    const out: CrossTaskSource[] = [];
    for (const source of sources) {
      const run = await ctx.run(model, source);
      ctx.log(`4.4 ${ctx.modelName(model)}: ${target} after fine-tuning on ${source}`);
      const ft = await scores(run.final, layer);
      const labels = minDistanceChanges(orig.g, ft.g, names);
      const increased = labels.filter((l) => l.change > 0).length;
      const decreased = labels.filter((l) => l.change < 0).length;
      out.push({
        source,
        scores: ft.s,
        labels,
        increased,
        decreased,
        unchanged: labels.length - increased - decreased,
        meanChange: labels.length ? labels.reduce((a, l) => a + l.change, 0) / labels.length : NaN,
        finetuneRun: run.dir,
      });
    }
    const body: Omit<CrossTaskResults, "meta"> = { model, modelName: ctx.modelName(model), target, layer, original: orig.s, sources: out };
    return { meta: ctx.meta("4.4", TITLE_44, crossTaskFindings(body), [target, ...sources], [model]), ...body };
  }, opts.refresh);
}
