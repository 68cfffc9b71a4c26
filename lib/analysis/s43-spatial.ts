/**
 * Section 4.3, spatial structure of the labels during fine-tuning:
 * - each label's minimum distance (DirectProbe, last layer, train) at every snapshot of the run, with the three
 *   labels whose minimum distance grows most and the three that grow least;
 * - the paths of the centroids of the three mutually closest labels (chosen at the original model's last layer)
 *   through the snapshots, projected by PCA, in the first and the last layer.
 */
import { AnalysisContext, type SectionOptions } from "./context";
import { spaceCentroids, pcaScores, spaceGeometry, type SpaceGeometry } from "./geometry";
import { modelLayers } from "./reps";
import { cachedResult, resultFile, type SectionResult } from "./results";
import { fmt, signed } from "./findings";

export interface SnapshotInfo {
  step: number;
  epoch: number;
  devAccuracy: number | null;
}

export interface LabelDistanceSeries {
  label: string;
  /** Minimum distance at each snapshot (null when the label has no other label to be near in that snapshot). */
  minDistance: (number | null)[];
  /** Last minus first. */
  growth: number;
}

export interface CentroidPath {
  label: string;
  /** PCA coordinates at each snapshot. */
  points: { step: number; x: number; y: number }[];
}

export interface LayerPaths {
  layer: number;
  /** Variance share of the two components. */
  explained: [number, number];
  paths: CentroidPath[];
}

export interface SpatialResults extends SectionResult {
  model: string;
  modelName: string;
  task: string;
  layer: number;
  snapshots: SnapshotInfo[];
  labels: LabelDistanceSeries[];
  growsMost: string[];
  growsLeast: string[];
  /** Number of clusters at each snapshot (labels: the number of labels present). */
  clusters: number[];
  /** Snapshots where the previous snapshot's clusters overlapped and DirectProbe ran again. */
  reclustered: number[];
  numLabels: number;
  closestLabels: string[];
  paths: LayerPaths[];
}

export const TITLE_43 = "4.3 Spatial structure of the labels";

/** The triple of labels with the smallest sum of pairwise label distances (fewer labels: all of them). */
export function closestTriple(g: SpaceGeometry): number[] {
  const k = g.labels.length;
  if (k <= 3) return g.labels.slice();
  let best: number[] = [];
  let bestSum = Infinity;
  for (let a = 0; a < k; a++)
    for (let b = a + 1; b < k; b++)
      for (let c = b + 1; c < k; c++) {
        const s = g.distances[a][b] + g.distances[a][c] + g.distances[b][c];
        if (s < bestSum) {
          bestSum = s;
          best = [g.labels[a], g.labels[b], g.labels[c]];
        }
      }
  return best;
}

export function spatialFindings(r: Omit<SpatialResults, "meta">): string[] {
  const out: string[] = [];
  const grown = r.labels.filter((l) => l.growth > 0).length;
  out.push(`Between the original model and the end of fine-tuning, the minimum distance grew for ${grown} of ${r.labels.length} labels (${r.modelName}, ${r.task}, layer ${r.layer}).`);
  const by = new Map(r.labels.map((l) => [l.label, l]));
  out.push(`Grew most: ${r.growsMost.map((l) => `${l} (${signed(by.get(l)!.growth)})`).join(", ")}.`);
  out.push(`Grew least: ${r.growsLeast.map((l) => `${l} (${signed(by.get(l)!.growth)})`).join(", ")}.`);
  if (r.closestLabels.length > 0) {
    for (const p of r.paths) {
      const travel = p.paths.map((c) => {
        const a = c.points[0];
        const z = c.points[c.points.length - 1];
        return Math.hypot(z.x - a.x, z.y - a.y);
      });
      out.push(`Layer ${p.layer}: the centroids of ${r.closestLabels.join(", ")} moved ${travel.map((t) => fmt(t, 2)).join(", ")} (PCA units, start to end).`);
    }
  }
  return out;
}

export async function runSpatial(opts: SectionOptions = {}): Promise<SpatialResults> {
  const ctx = new AnalysisContext(opts);
  const b = ctx.budget;
  const { model, task } = b.spatial;
  return cachedResult(resultFile("4.3", b, ctx.cacheExtra()), async () => {
    await ctx.checkModels([model]);
    const run = await ctx.run(model, task);
    const numLayers = await modelLayers(run.final);
    const layer = numLayers - 1;
    const labelNames = ctx.taskViews(task).analysis.labels;
    ctx.log(`4.3 ${ctx.modelName(model)} / ${task}: DirectProbe at each of ${run.snapshots.length} snapshots (layer ${layer})`);
    const geos: SpaceGeometry[] = [];
    for (const s of run.snapshots) {
      await ctx.extract(s.dir, task, ["train"]);
      // Each snapshot reuses the previous one's clusters while they stay separable (the reference's batch mode).
      geos.push(await spaceGeometry(ctx, s.dir, task, "train", layer, geos[geos.length - 1]));
    }
    const allLabels = [...new Set(geos.flatMap((g) => g.labels))].sort((a, b) => a - b);
    const series: LabelDistanceSeries[] = allLabels.map((l) => {
      const md = geos.map((g) => {
        const i = g.labels.indexOf(l);
        return i < 0 || !Number.isFinite(g.minDistance[i]) ? null : g.minDistance[i];
      });
      const first = md.find((x) => x !== null) ?? 0;
      const last = [...md].reverse().find((x) => x !== null) ?? 0;
      return { label: labelNames[l], minDistance: md, growth: last - first };
    });
    const sorted = [...series].sort((a, b) => b.growth - a.growth || a.label.localeCompare(b.label));
    const growsMost = sorted.slice(0, 3).map((s) => s.label);
    const growsLeast = sorted.slice(-3).reverse().map((s) => s.label);

    const triple = closestTriple(geos[0]);
    const pathLayers = [...new Set([Math.min(1, layer), layer])];
    const paths: LayerPaths[] = [];
    for (const l of pathLayers) {
      const rows: number[][] = [];
      const owner: { label: number; step: number }[] = [];
      for (const s of run.snapshots) {
        const c = await ctx.timings.time("centroids", () => spaceCentroids(ctx, s.dir, task, "train", l));
        for (const lab of triple) {
          const v = c.centroids.get(lab);
          if (!v) continue;
          rows.push(v);
          owner.push({ label: lab, step: s.step });
        }
      }
      const p = pcaScores(rows, 2);
      paths.push({
        layer: l,
        explained: [p.explained[0] ?? 0, p.explained[1] ?? 0],
        paths: triple.map((lab) => ({
          label: labelNames[lab],
          points: owner.flatMap((o, i) => (o.label === lab ? [{ step: o.step, x: p.scores[i][0] ?? 0, y: p.scores[i][1] ?? 0 }] : [])),
        })),
      });
    }
    const body: Omit<SpatialResults, "meta"> = {
      model,
      modelName: ctx.modelName(model),
      task,
      layer,
      snapshots: run.snapshots.map((s) => ({ step: s.step, epoch: s.epoch, devAccuracy: s.devAccuracy })),
      labels: series,
      growsMost,
      growsLeast,
      clusters: geos.map((g) => g.numClusters),
      reclustered: run.snapshots.filter((_, i) => geos[i].reclustered).map((s) => s.step),
      numLabels: geos[0].labels.length,
      closestLabels: triple.map((l) => labelNames[l]),
      paths,
    };
    return { meta: ctx.meta("4.3", TITLE_43, spatialFindings(body), [task], [model]), ...body };
  }, opts.refresh);
}
