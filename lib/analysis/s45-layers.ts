/**
 * Section 4.5, layer behaviour during fine-tuning:
 * - per layer, the Euclidean movement of each label's centroid between the original and the fine-tuned model;
 * - per layer, the spatial similarity (Pearson of DirectProbe distance vectors) of each snapshot to the original;
 * - per layer, PCA of the labels' centroid difference vectors (fine-tuned minus original): how far and in how
 *   many directions each layer moves.
 */
import { centroidMovement as movementOf } from "../geometry/centroids";
import { AnalysisContext, type SectionOptions } from "./context";
import { spaceCentroids, pcaScores, spaceGeometry, spaceSimilarity } from "./geometry";
import { modelLayers } from "./reps";
import { cachedResult, resultFile, type SectionResult } from "./results";
import { fmt } from "./findings";

export interface LayerMovement {
  layer: number;
  /** Per label: Euclidean distance between its original and fine-tuned centroids. */
  labels: { label: string; movement: number }[];
  mean: number;
  max: number;
}

export interface LayerSimilarity {
  layer: number;
  /** Similarity to the original layer at each snapshot (1 at step 0; null when undefined). */
  similarity: (number | null)[];
  /** Number of clusters at each snapshot. */
  clusters: number[];
  /** Snapshots where the previous snapshot's clusters overlapped and DirectProbe ran again. */
  reclustered: number[];
}

export interface LayerDifferencePca {
  layer: number;
  explained: number[];
  points: { label: string; x: number; y: number }[];
  /** Extent of the projected points: [xmin, xmax] x [ymin, ymax]. */
  extent: { x: [number, number]; y: [number, number] };
}

export interface LayerResults extends SectionResult {
  model: string;
  modelName: string;
  task: string;
  numLayers: number;
  snapshots: { step: number; epoch: number }[];
  movement: LayerMovement[];
  similarity: LayerSimilarity[];
  differences: LayerDifferencePca[];
}

export const TITLE_45 = "4.5 Layer behaviour";

/** Per label present in both: Euclidean distance between its centroids in two spaces (label index -> movement). */
export function labelMovement(a: Map<number, number[]>, b: Map<number, number[]>): Map<number, number> {
  const asCentroids = (m: Map<number, number[]>) => {
    const labels = [...m.keys()].sort((x, y) => x - y);
    return { labels, centroids: labels.map((l) => Float64Array.from(m.get(l)!)), counts: labels.map(() => 1) };
  };
  const r = movementOf(asCentroids(a), asCentroids(b));
  return new Map(r.labels.map((l, i) => [l, r.movement[i]]));
}

export function layerFindings(r: Omit<LayerResults, "meta">): string[] {
  const out: string[] = [];
  const means = r.movement.map((m) => m.mean);
  let rises = 0;
  for (let i = 1; i < means.length; i++) if (means[i] > means[i - 1]) rises++;
  out.push(
    `Mean centroid movement per layer (${r.modelName}, ${r.task}): ${r.movement.map((m) => `layer ${m.layer} ${fmt(m.mean, 2)}`).join(", ")}; ` +
      `it grows from one layer to the next ${rises} of ${Math.max(0, means.length - 1)} times.`,
  );
  const finals = r.similarity.map((s) => ({ layer: s.layer, v: s.similarity[s.similarity.length - 1] }));
  const defined = finals.filter((f) => f.v !== null) as { layer: number; v: number }[];
  if (defined.length > 0) {
    const minF = defined.reduce((a, b) => (b.v < a.v ? b : a));
    out.push(`Similarity to the original layer at the end of fine-tuning: ${defined.map((f) => `layer ${f.layer} ${fmt(f.v, 3)}`).join(", ")}; lowest ${fmt(minF.v, 3)} (layer ${minF.layer}).`);
  }
  for (const d of [r.differences[Math.min(1, r.differences.length - 1)], r.differences[r.differences.length - 1]]) {
    if (!d) continue;
    out.push(`Layer ${d.layer}: centroid differences span [${fmt(d.extent.x[0], 1)}, ${fmt(d.extent.x[1], 1)}] x [${fmt(d.extent.y[0], 1)}, ${fmt(d.extent.y[1], 1)}] in their first two principal components.`);
  }
  return [...new Set(out)];
}

export async function runLayers(opts: SectionOptions = {}): Promise<LayerResults> {
  const ctx = new AnalysisContext(opts);
  const b = ctx.budget;
  const { model, task } = b.layers;
  return cachedResult(resultFile("4.5", b, ctx.cacheExtra()), async () => {
    await ctx.checkModels([model]);
    const run = await ctx.run(model, task);
    const numLayers = await modelLayers(run.final);
    const names = ctx.taskViews(task).analysis.labels;
    for (const s of run.snapshots) await ctx.extract(s.dir, task, ["train"]);
    const movement: LayerMovement[] = [];
    const differences: LayerDifferencePca[] = [];
    const similarity: LayerSimilarity[] = [];
    for (let layer = 0; layer < numLayers; layer++) {
      const co = await ctx.timings.time("centroids", () => spaceCentroids(ctx, run.original, task, "train", layer));
      const cf = await ctx.timings.time("centroids", () => spaceCentroids(ctx, run.final, task, "train", layer));
      const shared = [...co.centroids.keys()].filter((l) => cf.centroids.has(l)).sort((a, b) => a - b);
      const moved = labelMovement(co.centroids, cf.centroids);
      const moves = shared.map((l) => ({ label: names[l], movement: moved.get(l)! }));
      movement.push({
        layer,
        labels: moves,
        mean: moves.reduce((a, m) => a + m.movement, 0) / Math.max(1, moves.length),
        max: moves.reduce((a, m) => Math.max(a, m.movement), 0),
      });
      const diffs = shared.map((l) => cf.centroids.get(l)!.map((v, i) => v - co.centroids.get(l)![i]));
      const p = pcaScores(diffs, 2);
      const xs = p.scores.map((s) => s[0] ?? 0);
      const ys = p.scores.map((s) => s[1] ?? 0);
      differences.push({
        layer,
        explained: p.explained,
        points: shared.map((l, i) => ({ label: names[l], x: xs[i], y: ys[i] })),
        extent: { x: [Math.min(...xs), Math.max(...xs)], y: [Math.min(...ys), Math.max(...ys)] },
      });

      ctx.log(`4.5 ${ctx.modelName(model)} / ${task}: layer ${layer}: DirectProbe at ${run.snapshots.length} snapshots`);
      const g0 = await spaceGeometry(ctx, run.original, task, "train", layer);
      const sims: (number | null)[] = [];
      const clusters: number[] = [];
      const reclustered: number[] = [];
      let prev = g0;
      for (const s of run.snapshots) {
        // Each snapshot reuses the previous one's clusters while they stay separable (the reference's batch mode).
        const g = s.dir === run.original ? g0 : await spaceGeometry(ctx, s.dir, task, "train", layer, prev);
        sims.push(spaceSimilarity(g0, g));
        clusters.push(g.numClusters);
        if (g.reclustered) reclustered.push(s.step);
        prev = g;
      }
      similarity.push({ layer, similarity: sims, clusters, reclustered });
    }
    const body: Omit<LayerResults, "meta"> = {
      model,
      modelName: ctx.modelName(model),
      task,
      numLayers,
      snapshots: run.snapshots.map((s) => ({ step: s.step, epoch: s.epoch })),
      movement,
      similarity,
      differences,
    };
    return { meta: ctx.meta("4.5", TITLE_45, layerFindings(body), [task], [model]), ...body };
  }, opts.refresh);
}
