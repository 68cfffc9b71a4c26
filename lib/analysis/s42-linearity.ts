/**
 * Section 4.2, linearity: DirectProbe's number of clusters vs the number of labels of the last layer's train
 * vectors, before and after fine-tuning. As many clusters as labels: one linear classifier separates the labels;
 * more: some label needs a non-linear boundary. The clusterings are the ones 4.1 computes (shared cache).
 */
import { AnalysisContext, type SectionOptions } from "./context";
import { spaceGeometry } from "./geometry";
import { modelLayers } from "./reps";
import { cachedResult, resultFile, type SectionResult } from "./results";
import { countPhrase } from "./findings";

export interface LinearityRow {
  model: string;
  modelName: string;
  task: string;
  layer: number;
  /** Labels present in the train set. */
  labels: number;
  clusters: { original: number; finetuned: number };
  linear: { original: boolean; finetuned: boolean };
  examples: number;
}

export interface LinearityResults extends SectionResult {
  rows: LinearityRow[];
}

export const TITLE_42 = "4.2 Linearity of the representations";

export function linearityFindings(rows: LinearityRow[]): string[] {
  if (rows.length === 0) return [];
  const out: string[] = [];
  const linBefore = rows.filter((r) => r.linear.original).length;
  const linAfter = rows.filter((r) => r.linear.finetuned).length;
  out.push(`Linear (clusters = labels) before fine-tuning: ${countPhrase(linBefore, rows.length, "model x task pair")}; after: ${linAfter} of ${rows.length}.`);
  const fewer = rows.filter((r) => r.clusters.finetuned < r.clusters.original);
  const more = rows.filter((r) => r.clusters.finetuned > r.clusters.original);
  out.push(`Fine-tuning reduced the number of clusters on ${countPhrase(fewer.length, rows.length, "pair")} and increased it on ${more.length}.`);
  for (const r of rows.filter((x) => !x.linear.finetuned)) {
    const verb = r.linear.original ? "becomes" : "stays";
    out.push(`${r.modelName} on ${r.task} ${verb} non-linear after fine-tuning: ${r.clusters.finetuned} clusters for ${r.labels} labels (${r.clusters.original} before).`);
  }
  for (const r of rows.filter((x) => x.linear.finetuned && !x.linear.original)) {
    out.push(`${r.modelName} on ${r.task} becomes linear after fine-tuning: ${r.clusters.original} clusters before, ${r.labels} (one per label) after.`);
  }
  return out;
}

export async function runLinearity(opts: SectionOptions = {}): Promise<LinearityResults> {
  const ctx = new AnalysisContext(opts);
  const b = ctx.budget;
  return cachedResult(resultFile("4.2", b, ctx.cacheExtra()), async () => {
    await ctx.checkModels(b.models);
    const rows: LinearityRow[] = [];
    for (const model of b.models) {
      for (const task of b.tasks) {
        const run = await ctx.run(model, task);
        const layer = (await modelLayers(run.final)) - 1;
        await ctx.extract(run.original, task, ["train"]);
        await ctx.extract(run.final, task, ["train"]);
        ctx.log(`4.2 ${ctx.modelName(model)} / ${task}: DirectProbe clusters before and after fine-tuning`);
        const o = await spaceGeometry(ctx, run.original, task, "train", layer);
        const f = await spaceGeometry(ctx, run.final, task, "train", layer);
        rows.push({
          model,
          modelName: ctx.modelName(model),
          task,
          layer,
          labels: o.labels.length,
          clusters: { original: o.numClusters, finetuned: f.numClusters },
          linear: { original: o.linear, finetuned: f.linear },
          examples: o.n,
        });
      }
    }
    return { meta: ctx.meta("4.2", TITLE_42, linearityFindings(rows), b.tasks), rows };
  }, opts.refresh);
}
