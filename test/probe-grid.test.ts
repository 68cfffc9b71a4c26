import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gridSpec, meanStd, runProbe, type ProbeResult } from "../lib/probe/grid";
import { learningCurve, memorisationCurves, memorisationSplit } from "../lib/probe/curves";
import type { Dataset } from "../lib/probe/mlp";
import { silentSink } from "../lib/util/progress";
import { Rng } from "../lib/util/rng";

function blobs(n: number, seed: number, labels?: "random"): Dataset {
  const rng = new Rng(seed);
  const dim = 6;
  const x = new Float32Array(n * dim);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = rng.int(3);
    for (let j = 0; j < dim; j++) x[i * dim + j] = (j === c ? 3 : 0) + rng.normal();
    y[i] = labels === "random" ? rng.int(3) : c;
  }
  return { x, y, n, dim };
}

test("grid: the paper's full grid, the small grid and custom grids", () => {
  const full = gridSpec("full");
  assert.equal(full.hidden.length, 16);
  assert.deepEqual(full.alphas, [1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1]);
  assert.equal(gridSpec("small").hidden.length * gridSpec("small").alphas.length, 12);
  assert.deepEqual(gridSpec("64x32,8x8/1e-3,0.5"), { hidden: [[64, 32], [8, 8]], alphas: [1e-3, 0.5] });
  assert.throws(() => gridSpec("huge"), /argument grid/);
  assert.deepEqual(meanStd([1, 2, 3, 4]), { mean: 2.5, std: Math.sqrt(1.25) });
});

test("grid: selects the best configuration, retrains with seeds, and resumes an interrupted run", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ftgeo-grid-"));
  const cacheFile = path.join(dir, "r.json");
  const train = blobs(240, 1);
  const test = blobs(200, 2);
  // alpha 10 is far too strong for these data: selection must avoid it.
  const grid = gridSpec("8x8,16x16/1e-4,10");
  const opts = { train, test, numClasses: 3, grid, seeds: 2, maxIter: 40, cacheFile, progress: silentSink() };
  const r = await runProbe(opts);
  assert.equal(r.selection, "held-out");
  assert.equal(r.grid.length, 4);
  assert.equal(r.best!.alpha, 1e-4);
  assert.equal(r.best!.selectionAccuracy, Math.max(...r.grid.map((g) => g.selectionAccuracy)));
  assert.equal(r.seeds.length, 2);
  assert.ok(r.mean > 0.8, `mean ${r.mean}`);
  assert.deepEqual(meanStd(r.seeds.map((s) => s.testAccuracy)), { mean: r.mean, std: r.std });
  // Simulate an interruption after two configurations, with a marker showing whether they are recomputed.
  const saved = JSON.parse(fs.readFileSync(cacheFile, "utf8")) as ProbeResult;
  saved.grid = saved.grid.slice(0, 2);
  saved.grid[0].seconds = -1;
  saved.seeds = [];
  saved.done = false;
  fs.writeFileSync(cacheFile, JSON.stringify(saved));
  const resumed = await runProbe(opts);
  assert.equal(resumed.grid.length, 4);
  assert.equal(resumed.grid[0].seconds, -1, "completed configurations are not trained again");
  assert.deepEqual(resumed.grid.slice(2), r.grid.slice(2).map((g, i) => ({ ...g, seconds: resumed.grid[2 + i].seconds })), "seeded: same results");
  assert.equal(resumed.mean, r.mean);
  // A finished run is a read; other settings start over.
  const again = await runProbe(opts);
  assert.equal(again.grid[0].seconds, -1);
  const other = await runProbe({ ...opts, seeds: 1 });
  assert.notEqual(other.grid[0].seconds, -1);
  // Selection on dev when given.
  const withDev = await runProbe({ ...opts, cacheFile: undefined, dev: blobs(90, 3), seeds: 1 });
  assert.equal(withDev.selection, "dev");
});

test("curves: memorisation split and learning curves (random labels: memorised on subtrain, chance elsewhere)", async () => {
  const split = memorisationSplit(100, 3);
  assert.equal(split.subtrain.length, 80);
  assert.equal(split.subtest.length, 20);
  assert.equal(new Set([...split.subtrain, ...split.subtest]).size, 100);
  assert.deepEqual(memorisationSplit(100, 3), split);

  const train = blobs(150, 4, "random");
  const test = blobs(300, 5, "random");
  const r = await memorisationCurves({ train, test, numClasses: 3, hidden: [64, 64], alpha: 1e-6, seeds: 1, maxIter: 400, sizes: [30, 120], progress: silentSink() });
  assert.equal(r.subtrain, 120);
  assert.deepEqual(r.points.map((p) => p.size), [30, 120]);
  const last = r.points[1].accuracy;
  assert.ok(last.subtrain.mean > 0.8, `subtrain ${last.subtrain.mean}`);
  assert.ok(last.test.mean < 0.5, `test ${last.test.mean}`);
  assert.ok(last.subtest.mean < 0.6, `subtest ${last.subtest.mean}`);

  const lc = await learningCurve({ train: blobs(100, 6), numClasses: 3, evalSets: { test: blobs(100, 7) }, sizes: [10, 100, 1000], hidden: [8, 8], alpha: 1e-4, seeds: 2, maxIter: 30, progress: silentSink() });
  assert.deepEqual(lc.map((p) => p.size), [10, 100]);
  assert.equal(lc[0].accuracy.test.values.length, 2);
});

test("grid: worker threads give the same results as training in this thread", async () => {
  const train = blobs(120, 8);
  const test = blobs(60, 9);
  const opts = { train, test, numClasses: 3, grid: gridSpec("8x8,4x4/1e-3"), seeds: 2, maxIter: 15, progress: silentSink() };
  const one = await runProbe({ ...opts, workers: 1 });
  const two = await runProbe({ ...opts, workers: 2 });
  const strip = (r: ProbeResult) => ({ grid: r.grid.map((g) => ({ ...g, seconds: 0 })), seeds: r.seeds.map((s) => ({ ...s, seconds: 0 })), best: r.best, mean: r.mean });
  assert.deepEqual(strip(two), strip(one));
});
