/**
 * Every section end to end on the smallest real configuration: a random BERT-tiny fine-tuned for one epoch on a
 * few dozen ps-fxn (and ps-role) examples, a one-configuration probe grid. Checks the structure and the invariants
 * of the results (accuracies in [0, 1], clusters >= labels, similarity of a space with itself = 1, step 0 first,
 * counts that add up) and the caches: a second call reads the stored result, and the sections share runs.
 */
import { test, before, after } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { quickBudget, type AnalysisBudget } from "../lib/analysis/budget";
import { AnalysisContext } from "../lib/analysis/context";
import { spaceGeometry, spaceSimilarity } from "../lib/analysis/geometry";
import { runPerformance } from "../lib/analysis/s41-performance";
import { runLinearity } from "../lib/analysis/s42-linearity";
import { runSpatial } from "../lib/analysis/s43-spatial";
import { runCrossTask } from "../lib/analysis/s44-cross-task";
import { runLayers } from "../lib/analysis/s45-layers";
import { main } from "../lib/cli/main";
import { silentSink } from "../lib/util/progress";

let cache: string;
const savedCache = process.env.FTGEO_CACHE;

function tinyBudget(): AnalysisBudget {
  const b = quickBudget();
  const task = "ps-fxn";
  return {
    ...b,
    name: "quick",
    models: ["random:tiny"],
    modelNames: { "random:tiny": "random BERT-tiny" },
    modelNote: "test",
    tasks: [task],
    finetune: { epochs: 1, batch: 16, lr: 3e-4, seed: 1, snapshots: 2, data: { train: 48, dev: 16, test: 32 } },
    analysis: { train: 48, dev: 16, test: 32 },
    probe: { grid: "32x32/1e-2", seeds: 2, maxIter: 20 },
    memorisation: { model: "random:tiny", task, fractions: [0.5, 1], seeds: 1, hidden: [32, 32], alpha: 1e-2 },
    spatial: { model: "random:tiny", task },
    crossTask: { model: "random:tiny", target: task, sources: ["ps-role"] },
    layers: { model: "random:tiny", task },
  };
}

const opts = () => ({ budget: tinyBudget(), progress: silentSink(), log: () => {} });
const inUnit = (x: number) => x >= 0 && x <= 1;

before(() => {
  cache = fs.mkdtempSync(path.join(os.tmpdir(), "ftgeo-analysis-"));
  process.env.FTGEO_CACHE = cache;
});

after(() => {
  if (savedCache === undefined) delete process.env.FTGEO_CACHE;
  else process.env.FTGEO_CACHE = savedCache;
  fs.rmSync(cache, { recursive: true, force: true });
});

test("4.1: accuracies, train/test similarity and memorisation curves; a second call reads the stored result", async () => {
  const r = await runPerformance(opts());
  assert.equal(r.meta.section, "4.1");
  assert.equal(r.meta.fromCache, false);
  assert.equal(r.rows.length, 1);
  const row = r.rows[0];
  for (const s of [row.original, row.finetuned]) {
    assert.equal(s.values.length, 2);
    assert.ok(s.values.every(inUnit));
    assert.ok(s.std >= 0 && inUnit(s.mean));
  }
  assert.ok(Math.abs(row.change - (row.finetuned.mean - row.original.mean)) < 1e-12);
  for (const v of [row.trainTestSimilarity.original, row.trainTestSimilarity.finetuned]) assert.ok(v === null || (v >= -1 - 1e-9 && v <= 1 + 1e-9));
  for (const g of [row.geometry.original.train, row.geometry.finetuned.train, row.geometry.original.test]) assert.ok(g.clusters >= g.labels);
  const mem = r.memorisation!;
  assert.equal(mem.subtrain + mem.subtest, r.meta.sizes["ps-fxn"].train);
  assert.equal(mem.original.length, 2);
  assert.ok(mem.original[0].size < mem.original[1].size);
  for (const p of [...mem.original, ...mem.finetuned]) for (const k of ["subtrain", "subtest", "test"]) assert.ok(inUnit(p.accuracy[k].mean));
  assert.ok(r.meta.findings.length >= 3);
  assert.ok(r.meta.timings.total > 0 && r.meta.timings.finetune > 0);
  assert.ok(fs.existsSync(r.meta.file));

  const again = await runPerformance(opts());
  assert.equal(again.meta.fromCache, true);
  assert.deepEqual(again.rows, JSON.parse(JSON.stringify(r.rows)));
});

test("4.2: cluster counts are at least the label counts, linear iff equal; the runs of 4.1 are reused", async () => {
  const ctx = new AnalysisContext(opts());
  const run = await ctx.run("random:tiny", "ps-fxn");
  assert.equal(run.reused, true, "4.1 already fine-tuned this model on this task");
  const r = await runLinearity(opts());
  assert.equal(r.meta.timings.finetune < 5, true, `reading a finished run took ${r.meta.timings.finetune} s`);
  for (const row of r.rows) {
    assert.ok(row.clusters.original >= row.labels && row.clusters.finetuned >= row.labels);
    assert.equal(row.linear.original, row.clusters.original === row.labels);
    assert.equal(row.linear.finetuned, row.clusters.finetuned === row.labels);
  }
  // The similarity of a space with itself is 1.
  const g = await spaceGeometry(ctx, run.final, "ps-fxn", "train", 2);
  const self = spaceSimilarity(g, g);
  assert.ok(self === null || Math.abs(self - 1) < 1e-12);
});

test("4.3: one minimum distance per label and snapshot, step 0 first, centroid paths through every snapshot", async () => {
  const r = await runSpatial(opts());
  assert.equal(r.snapshots[0].step, 0);
  assert.ok(r.snapshots.length >= 2);
  for (const l of r.labels) assert.equal(l.minDistance.length, r.snapshots.length);
  assert.ok(r.growsMost.length <= 3 && r.growsLeast.length <= 3);
  assert.deepEqual(r.paths.map((p) => p.layer), [1, 2]);
  for (const p of r.paths) {
    assert.equal(p.paths.length, r.closestLabels.length);
    for (const c of p.paths) assert.equal(c.points.length, r.snapshots.length);
    assert.ok(p.explained[0] >= p.explained[1] && p.explained[0] <= 1 + 1e-9);
  }
  assert.equal(r.clusters.length, r.snapshots.length);
  // A snapshot that kept the previous snapshot's clusters has as many clusters as it.
  r.snapshots.forEach((s, i) => {
    if (i > 0 && !r.reclustered.includes(s.step)) assert.equal(r.clusters[i], r.clusters[i - 1]);
  });
});

test("4.4: per-label changes add up, accuracies in [0, 1]", async () => {
  const r = await runCrossTask(opts());
  assert.equal(r.sources.length, 1);
  for (const s of [r.original, ...r.sources.map((x) => x.scores)]) {
    assert.ok(inUnit(s.directAccuracy) && inUnit(s.classifier.mean));
  }
  const s = r.sources[0];
  assert.equal(s.increased + s.decreased + s.unchanged, s.labels.length);
  for (const l of s.labels) assert.ok(Math.abs(l.change - (l.finetuned - l.original)) < 1e-12);
  if (s.labels.length > 0) assert.ok(Math.abs(s.meanChange - s.labels.reduce((a, l) => a + l.change, 0) / s.labels.length) < 1e-12);
});

test("4.5: every layer; similarity to the original is 1 at step 0; movement and PCA extents are consistent", async () => {
  const r = await runLayers(opts());
  assert.equal(r.numLayers, 3);
  assert.equal(r.movement.length, 3);
  assert.equal(r.similarity.length, 3);
  for (const s of r.similarity) {
    assert.equal(s.similarity.length, r.snapshots.length);
    assert.ok(s.similarity[0] === null || Math.abs(s.similarity[0] - 1) < 1e-12, `layer ${s.layer} at step 0: ${s.similarity[0]}`);
  }
  for (const m of r.movement) {
    assert.ok(m.labels.every((l) => l.movement >= 0));
    assert.ok(m.max >= m.mean);
  }
  for (const d of r.differences) {
    for (const p of d.points) assert.ok(p.x >= d.extent.x[0] && p.x <= d.extent.x[1] && p.y >= d.extent.y[0] && p.y <= d.extent.y[1]);
  }
});

test("ftgeo run: unknown sections and budgets are errors that name the argument", async () => {
  const errors: string[] = [];
  const orig = console.error;
  console.error = (m: string) => errors.push(m);
  try {
    assert.equal(await main(["run", "4.9"]), 2);
    assert.equal(await main(["run", "4.1", "--budget", "huge"]), 2);
  } finally {
    console.error = orig;
  }
  assert.match(errors[0], /unknown section "4.9"/);
  assert.match(errors[1], /quick \| paper/);
});
