/** `ftgeo probe direct`: DirectProbe on one layer of a model for a task split (clusters, linearity, distances). */
import * as path from "node:path";
import { directProbe, findLabelConflicts } from "../../geometry/directprobe";
import { initLp } from "../../geometry/lp";
import { makeMatrix, selectRows } from "../../geometry/matrix";
import { clusterDistanceMatrix, labelDistances, predictNearestCluster } from "../../geometry/measures";
import { bertRepsEncoder, loadEncoder } from "../../reps/encoder";
import { getLayer } from "../../reps/store";
import { loadTask } from "../../tasks/load";
import { numArg, optionHelp, parseCli, strArg, type OptionTable } from "../../util/args";
import { withAtomicDir } from "../../util/atomic";
import { stderrSink } from "../../util/progress";
import * as fs from "node:fs";

export const summary = "DirectProbe: clusters, linearity, label distances and nearest-cluster accuracy of a layer";

export const options: OptionTable = [
  { name: "model", type: "string", value: "M", help: "model folder, hub id or random:<shape>[:seed]", default: "the embedded model under models/" },
  { name: "task", type: "string", value: "T", help: "pos, dep, ps-role, ps-fxn or trec50" },
  { name: "split", type: "string", value: "S", help: "split to cluster", default: "train" },
  { name: "layer", type: "string", value: "L", help: "layer (0 = embeddings)", default: "the last" },
  { name: "test", type: "string", value: "S", help: "split whose points are predicted by the nearest cluster; none to skip", default: "test" },
  { name: "limit", type: "string", value: "N", help: "seeded random subset of N examples per split" },
  { name: "seed", type: "string", value: "S", help: "picks the --limit subsets", default: "0" },
  { name: "out", type: "string", value: "DIR", help: "write clusters.json (members, labels) and distances.json (cluster and label distance matrices)" },
  { name: "data", type: "string", value: "DIR", help: "data folder", default: "FTGEO_DATA or the repository's data/" },
];

export const usage = `usage: ftgeo probe direct --task T [--model M] [--split S] [--layer L] [--test SPLIT|none]
                          [--limit N] [--seed S] [--out DIR] [--data DIR]

Clusters the layer's vectors of one split with DirectProbe (same-label merges, closest centroids first, never
letting a cluster's convex hull overlap another label's) and prints one JSON line: number of labels and
clusters, linear (one cluster per label), each label's minimum distance to another label (hull distance =
twice the hard-margin SVM margin), the nearest-cluster accuracy on the test split, and timing. Identical vectors
with different labels (no boundary can separate them) are reported and left out.

${optionHelp(options)}`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCli(argv, options);
  const task = loadTask(strArg(values, "task"), { dataDir: values.data as string | undefined });
  const split = strArg(values, "split", "train");
  const testSplit = strArg(values, "test", "test");
  const limit = values.limit === undefined ? undefined : numArg(values, "limit", undefined, { int: true, min: 1 });
  const seed = numArg(values, "seed", 0, { int: true });
  const handle = await loadEncoder(values.model as string | undefined);
  const encoder = bertRepsEncoder(handle);
  const layer = numArg(values, "layer", encoder.numLayers - 1, { int: true, min: 0 });
  await initLp();
  const progress = stderrSink(2000);
  const t0 = performance.now();
  const data = await getLayer({ encoder, task, split, limit, seed, progress }, layer);
  const tLoad = performance.now();

  const full = makeMatrix(data.n, data.dim, data.data);
  const conflicts = findLabelConflicts(full, data.labels);
  const dropped = new Set(conflicts.flatMap((c) => c.points));
  const kept = Array.from({ length: data.n }, (_, i) => i).filter((i) => !dropped.has(i));
  const m = dropped.size > 0 ? selectRows(full, kept) : full;
  const labels = dropped.size > 0 ? Int32Array.from(kept, (i) => data.labels[i]) : data.labels;
  if (conflicts.length > 0) {
    process.stderr.write(
      `ftgeo probe direct: ${conflicts.length} group(s) of identical vectors carry different labels and are left out: ` +
        conflicts
          .slice(0, 5)
          .map((c) => `rows ${c.points.join(",")} (${c.labels.map((l) => task.labels[l]).join(" / ")})`)
          .join("; ") +
        (conflicts.length > 5 ? "; ..." : "") +
        "\n",
    );
  }
  const r = directProbe(m, labels, { progress });
  const tCluster = performance.now();
  const clusters = r.clusters.map((c) => ({ label: c.label, members: Array.from(c.members, (i) => kept[i]) }));
  const dist = clusterDistanceMatrix(full, clusters);
  const ld = labelDistances(clusters.map((c) => c.label), dist, r.labels);
  const tDist = performance.now();

  let accuracy: number | null = null;
  let testN = 0;
  if (testSplit !== "none" && task.splits[testSplit]) {
    const test = await getLayer({ encoder, task, split: testSplit, limit, seed, progress }, layer);
    const p = predictNearestCluster(full, clusters, makeMatrix(test.n, test.dim, test.data), test.labels);
    accuracy = p.accuracy;
    testN = test.n;
  }
  const tPredict = performance.now();

  const out = values.out as string | undefined;
  if (out) {
    const dir = path.resolve(out);
    withAtomicDir(dir, (tmp: string) => {
      fs.writeFileSync(
        path.join(tmp, "clusters.json"),
        JSON.stringify({ task: task.name, split, layer, model: handle.source, labelNames: task.labels, clusters }),
      );
      fs.writeFileSync(
        path.join(tmp, "distances.json"),
        JSON.stringify({ clusterLabels: clusters.map((c) => c.label), clusterDistances: dist, labels: ld.labels, labelDistances: ld.matrix, minDistance: ld.minDistance }),
      );
    });
  }
  const s = r.stats;
  console.log(
    JSON.stringify({
      model: handle.source,
      task: task.name,
      split,
      layer,
      n: data.n,
      dim: data.dim,
      labels: r.labels.length,
      clusters: r.numClusters,
      linear: r.linear,
      conflicting: [...dropped].sort((a, b) => a - b),
      minDistance: Object.fromEntries(ld.labels.map((l, i) => [task.labels[l], ld.minDistance[i]])),
      testAccuracy: accuracy,
      testN,
      stats: {
        hullSolves: s.hullSolves,
        sphereSkips: s.sphereSkips,
        cacheHits: s.certHits + s.certExtensions + s.witnessHits,
        centroidDirection: s.centroidDirection,
        uncheckedMerges: s.uncheckedMerges,
        firstOverlapState: s.firstOverlapState,
        statesSearched: s.statesSearched,
        checkedMerges: s.checkedMerges,
        vetoedMerges: s.vetoedMerges,
      },
      seconds: {
        load: (tLoad - t0) / 1000,
        cluster: (tCluster - tLoad) / 1000,
        clusterParts: s.seconds,
        distances: (tDist - tCluster) / 1000,
        predict: (tPredict - tDist) / 1000,
        total: (tPredict - t0) / 1000,
      },
      out: out ?? null,
    }),
  );
  return 0;
}
