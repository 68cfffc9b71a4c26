/**
 * Unit tests of the analysis helpers against closed forms: task subsets (prefix property, whole sentences),
 * budgets, label distances from cluster distances, Pearson, spatial similarity, PCA, centroid movement, and the
 * results cache (a second call reads).
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { narrowBudget, paperBudget, quickBudget, resolveBudget, PAPER_MODELS } from "../lib/analysis/budget";
import { chooseSentences, subsetTask, taskViews, labelsPresent } from "../lib/analysis/data";
import { centroidsOf, pcaScores, spaceSimilarity, type SpaceGeometry } from "../lib/analysis/geometry";
import { labelDistances } from "../lib/geometry/measures";
import { cachedResult, resultFile, type SectionResult } from "../lib/analysis/results";
import { AnalysisContext } from "../lib/analysis/context";
import { taskFromRows } from "../lib/tasks/user";
import { clusterLayer, followLayer } from "../lib/analysis/direct";
import { labelMovement } from "../lib/analysis/s45-layers";
import { closestTriple } from "../lib/analysis/s43-spatial";
import { minDistanceChanges } from "../lib/analysis/s44-cross-task";
import type { Task } from "../lib/tasks/types";
import { Rng } from "../lib/util/rng";

function toyTask(): Task {
  // 40 sentences of 1..4 words; token examples on every word; labels cycle over 3.
  const sentences: string[][] = [];
  const examples: Task["splits"][string]["examples"] = [];
  for (let s = 0; s < 40; s++) {
    const n = 1 + (s % 4);
    sentences.push(Array.from({ length: n }, (_, i) => `w${s}_${i}`));
    for (let i = 0; i < n; i++) examples.push({ sentence: s, targets: [i], label: (s + i) % 3 });
  }
  const split = (name: string) => ({ name, sentences, sentenceIds: sentences.map((_, i) => `${name}-${i}`), examples });
  return { name: "toy", kind: "token", labels: ["A", "B", "C"], splits: { train: split("train"), dev: split("dev"), test: split("test") }, source: "test" };
}

test("subsets keep whole sentences, reach the requested size, and a smaller size is a prefix of a larger one", () => {
  const task = toyTask();
  const small = chooseSentences(task.splits.train, 10, 5);
  const large = chooseSentences(task.splits.train, 30, 5);
  const count = (ss: number[]) => task.splits.train.examples.filter((e) => ss.includes(e.sentence)).length;
  assert.ok(count(small) >= 10 && count(small) < 10 + 4, `small subset has ${count(small)} examples`);
  assert.ok(count(large) >= 30);
  for (const s of small) assert.ok(large.includes(s), `sentence ${s} of the small subset is missing from the large one`);
  const views = taskViews(task, { train: 30, test: 20 }, { train: 10, test: 100 }, 5);
  assert.equal(views.analysis.splits.train.examples.length, count(small));
  // The analysis asks for more test examples than fine-tuning: it gets the fine-tuning's.
  assert.equal(views.analysis.splits.test.examples.length, views.finetune.splits.test.examples.length);
  // Sentences of analysis train are sentences of fine-tuning train (the memorisation experiment relies on it).
  const ftWords = new Set(views.finetune.splits.train.sentences.map((s) => s.join(" ")));
  for (const s of views.analysis.splits.train.sentences) assert.ok(ftWords.has(s.join(" ")));
  // Examples point at the renumbered sentences with the same words.
  for (const ex of views.analysis.splits.train.examples) assert.ok(ex.targets[0] < views.analysis.splits.train.sentences[ex.sentence].length);
  assert.notEqual(views.analysis.name, views.finetune.name);
  assert.deepEqual(labelsPresent(task.splits.train), [0, 1, 2]);
  // No sizes: the task itself.
  assert.equal(subsetTask(task, {}, 1), task);
});

test("budgets: paper has the five models and tasks, quick one model; narrowing replaces model and task everywhere", () => {
  const p = paperBudget();
  assert.deepEqual(p.models, Object.keys(PAPER_MODELS));
  assert.equal(p.tasks.length, 5);
  assert.equal(p.probe.grid, "full");
  const q = quickBudget();
  assert.equal(q.models.length, 1);
  assert.equal(resolveBudget("quick").name, "quick");
  assert.throws(() => resolveBudget("fast"), /quick \| paper/);
  const n = narrowBudget(p, { model: "random:tiny", task: "trec50" });
  assert.deepEqual(n.models, ["random:tiny"]);
  assert.deepEqual(n.tasks, ["trec50"]);
  assert.equal(n.layers.model, "random:tiny");
  assert.equal(n.spatial.task, "trec50");
  assert.equal(p.models.length, 5, "narrowing must not change the original budget");
});

function geometry(labels: number[], distances: number[][]): SpaceGeometry {
  return {
    checkpointId: "x", examplesHash: "h", task: "t", split: "train", layer: 0, n: 0, dim: 1, labels, numClusters: labels.length, linear: true,
    clusterLabels: labels, assignment: [], distances, minDistance: labelDistances(labels, distances, labels).minDistance, conflicting: [], key: "fresh", followedFrom: null, reclustered: false, seconds: 0, version: 1,
  };
}

test("spatial similarity: self-similarity 1, a closed form, shared labels only, null when undefined", () => {
  const a = geometry([0, 1, 2], [[0, 1, 2], [1, 0, 3], [2, 3, 0]]);
  assert.equal(spaceSimilarity(a, a), 1);
  // b lacks label 2 and adds label 5: only the pair (0,1) is shared -> undefined.
  const b = geometry([0, 1, 5], [[0, 4, 1], [4, 0, 1], [1, 1, 0]]);
  assert.equal(spaceSimilarity(a, b), null);
  // Distances scaled by 2 and shifted: similarity 1.
  const c = geometry([0, 1, 2], [[0, 3, 5], [3, 0, 7], [5, 7, 0]]);
  assert.ok(Math.abs(spaceSimilarity(a, c)! - 1) < 1e-12);
  // Distance vectors [1, 2, 3, 4, 5, 6] and [1, 3, 2, 4, 6, 5]: r = 1 - 6 * 4 / (6 * 35) = 31/35 (Spearman = Pearson on ranks).
  const four = (v: number[]) => {
    const [d01, d02, d03, d12, d13, d23] = v;
    return geometry([0, 1, 2, 3], [[0, d01, d02, d03], [d01, 0, d12, d13], [d02, d12, 0, d23], [d03, d13, d23, 0]]);
  };
  assert.ok(Math.abs(spaceSimilarity(four([1, 2, 3, 4, 5, 6]), four([1, 3, 2, 4, 6, 5]))! - 31 / 35) < 1e-12);
  assert.equal(spaceSimilarity(four([1, 1, 1, 1, 1, 1]), four([1, 3, 2, 4, 6, 5])), null);
  assert.deepEqual(closestTriple(a), [0, 1, 2]);
  const changes = minDistanceChanges(a, c, ["A", "B", "C"]);
  assert.deepEqual(changes.map((x) => x.change), [2, 2, 3]);
});

test("PCA: planted variances along orthogonal directions, scores reproduce the centred rows", () => {
  const rng = new Rng(3);
  const dim = 20;
  const u = new Array<number>(dim).fill(0);
  const v = new Array<number>(dim).fill(0);
  u[2] = 1;
  v[7] = 1;
  // 6 points: coefficients with exact zero means; variances 4 (along u) and 1 (along v) -> shares 0.8, 0.2.
  const a = [2, -2, 2, -2, 0, 0].map((x) => x * Math.sqrt(6 / 16));
  const b = [1, 1, -1, -1, 0, 0].map((x) => x * Math.sqrt(6 / 4) / 2);
  const offset = Array.from({ length: dim }, () => rng.normal());
  const rows = a.map((x, i) => offset.map((o, k) => o + x * u[k] + b[i] * v[k]));
  const r = pcaScores(rows, 2);
  const va = a.reduce((s, x) => s + x * x, 0);
  const vb = b.reduce((s, x) => s + x * x, 0);
  assert.ok(Math.abs(r.explained[0] - va / (va + vb)) < 1e-9, `explained ${r.explained}`);
  assert.ok(Math.abs(r.explained[1] - vb / (va + vb)) < 1e-9);
  for (let i = 0; i < rows.length; i++) {
    assert.ok(Math.abs(Math.abs(r.scores[i][0]) - Math.abs(a[i])) < 1e-9);
    assert.ok(Math.abs(Math.abs(r.scores[i][1]) - Math.abs(b[i])) < 1e-9);
  }
});

test("centroids are label means; the movement of an unchanged space is 0 and of a shifted one the shift's length", () => {
  const data = { n: 4, dim: 2, data: Float32Array.from([0, 0, 2, 2, 1, 1, 3, 5]), labels: Int32Array.from([0, 0, 1, 1]) };
  const c = centroidsOf(data);
  assert.deepEqual(c.get(0), [1, 1]);
  assert.deepEqual(c.get(1), [2, 3]);
  assert.deepEqual([...labelMovement(c, c).values()], [0, 0]);
  const shifted = new Map([...c].map(([l, x]) => [l, [x[0] + 3, x[1] + 4]]));
  assert.deepEqual([...labelMovement(c, shifted).values()], [5, 5]);
});

test("results cache: computed once, read the second time, recomputed on refresh", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ftgeo-results-"));
  const file = path.join(dir, "r.json");
  let calls = 0;
  const compute = async (): Promise<SectionResult & { x: number }> => {
    calls++;
    return { meta: { version: 1, findings: ["f"] } as SectionResult["meta"], x: 42 };
  };
  const a = await cachedResult(file, compute);
  assert.equal(a.meta.fromCache, false);
  const b = await cachedResult(file, compute);
  assert.equal(calls, 1);
  assert.equal(b.meta.fromCache, true);
  assert.equal(b.x, 42);
  await cachedResult(file, compute, true);
  assert.equal(calls, 2);
  fs.rmSync(dir, { recursive: true, force: true });
});

test("following clusters: reused while separable (same clusters, fresh distances), re-clustered when they overlap", async () => {
  // Space A: label 0 at x < 0, label 1 at x > 0 (one cluster each). Space B: the same rows in an XOR layout,
  // where the two labels' single clusters overlap.
  const xs = [[-2, -1], [-1, -2], [-2, 1], [-1, 2], [2, -1], [1, -2], [2, 1], [1, 2]];
  const labels = Int32Array.from([0, 0, 0, 0, 1, 1, 1, 1]);
  const layer = (rows: number[][]) => ({ n: rows.length, dim: 2, data: Float32Array.from(rows.flat()), labels, index: Int32Array.from(rows.keys()) });
  const a = await clusterLayer(layer(xs));
  assert.equal(a.clusterLabels.length, 2);
  // Shifted by a constant: the same clusters stay separable and their distance is unchanged (2).
  const shifted = await followLayer(layer(xs.map(([x, y]) => [x + 5, y - 3])), a);
  assert.equal(shifted.reclustered, false);
  assert.deepEqual(Array.from(shifted.assignment), Array.from(a.assignment));
  assert.ok(Math.abs(shifted.distances[0][1] - 2) < 1e-3, `distance ${shifted.distances[0][1]}`);
  const xor = [[-2, -2], [-1, -1], [2, 2], [1, 1], [-2, 2], [-1, 1], [2, -2], [1, -1]];
  const b = await followLayer(layer(xor), a);
  assert.equal(b.reclustered, true);
  assert.ok(b.clusterLabels.length > 2, `XOR needs more clusters than labels, got ${b.clusterLabels.length}`);
});

test("user tasks: found by name in the budget, and their content keys the results cache", () => {
  const rows = (flip: boolean) => [
    { tokens: "a good film", label: flip ? "neg" : "pos", split: "train" },
    { tokens: "a bad film", label: "neg", split: "train" },
    { tokens: "good", label: "pos", split: "test" },
  ];
  const mine = taskFromRows("reviews", rows(false));
  const ctx = new AnalysisContext({ budget: narrowBudget(quickBudget(), { task: "reviews" }), userTasks: [mine] });
  assert.equal(ctx.taskViews("reviews").full, mine);
  const other = new AnalysisContext({ budget: ctx.budget, userTasks: [taskFromRows("reviews", rows(true))] });
  assert.notEqual(resultFile("4.1", ctx.budget, ctx.cacheExtra()), resultFile("4.1", other.budget, other.cacheExtra()));
  assert.equal(new AnalysisContext({ budget: "quick" }).cacheExtra(), null);
});
