import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { directProbe, findLabelConflicts, LabelConflictError } from "../lib/geometry/directprobe";
import { fromRows, makeMatrix, Matrix } from "../lib/geometry/matrix";
import { loadNativeDist } from "../lib/geometry/native-dist";
import { Rng } from "../lib/util/rng";
import { repoRoot } from "../lib/util/paths";

const fixtures = path.join(repoRoot(), "test", "fixtures", "geometry");

function blobs(seed: number, perLabel: number, dim: number, labels: number, spread: number): { m: Matrix; y: Int32Array } {
  const rng = new Rng(seed);
  const means = Array.from({ length: labels }, () => Array.from({ length: dim }, () => rng.normal() * 10));
  const m = makeMatrix(perLabel * labels, dim);
  const y = new Int32Array(perLabel * labels);
  for (let i = 0; i < m.n; i++) {
    y[i] = i % labels;
    for (let k = 0; k < dim; k++) m.data[i * dim + k] = means[y[i]][k] + rng.normal() * spread;
  }
  return { m, y };
}

const partition = (clusters: { members: ArrayLike<number> }[]) => clusters.map((c) => Array.from(c.members).sort((a, b) => a - b)).sort((a, b) => a[0] - b[0]);

test("directprobe: separable Gaussian blobs give one cluster per label (linear)", () => {
  const { m, y } = blobs(1, 60, 16, 5, 0.5);
  const r = directProbe(m, y);
  assert.equal(r.numClusters, 5);
  assert.equal(r.linear, true);
  for (const c of r.clusters) assert.ok(Array.from(c.members).every((p) => y[p] === c.label));
  assert.equal(r.stats.uncheckedMerges, 0, "the end-state check alone decides a linear space");
});

test("directprobe: XOR needs more clusters than labels; clusters equal the Python reimplementation of the reference", () => {
  const fx = JSON.parse(fs.readFileSync(path.join(fixtures, "directprobe.json"), "utf8")) as {
    cases: { name: string; points: number[][]; labels: number[]; clusters: number[][] }[];
  };
  for (const c of fx.cases) {
    const m = fromRows(c.points);
    const r = directProbe(m, c.labels);
    assert.deepEqual(partition(r.clusters), partition(c.clusters.map((members) => ({ members }))), c.name);
    if (c.name.startsWith("xor")) assert.ok(r.numClusters > 2 && !r.linear);
  }
});

test("directprobe: the search strategy gives exactly the clusters of checked merging from single points", () => {
  const { m, y } = blobs(5, 40, 6, 4, 9);
  const a = directProbe(m, y);
  const b = directProbe(m, y, { strategy: "forward" });
  assert.ok(a.numClusters > 4, "this layout must be non-linear for the test to mean something");
  assert.ok(a.stats.statesSearched > 0);
  assert.deepEqual(partition(a.clusters), partition(b.clusters));
  // Deterministic: a second run is identical.
  assert.deepEqual(partition(directProbe(m, y).clusters), partition(a.clusters));
});

test("directprobe inheritVetoes (off by default): on well-separated blobs, the clusters of re-proposing every vetoed pair", () => {
  for (const [seed, spread] of [
    [5, 9],
    [12, 7],
  ]) {
    const { m, y } = blobs(seed, 45, 5, 4, spread);
    for (const strategy of ["search", "forward"] as const) {
      const on = directProbe(m, y, { strategy, inheritVetoes: true });
      const off = directProbe(m, y, { strategy });
      assert.ok(on.numClusters > 4, "this layout must be non-linear for the test to mean something");
      assert.deepEqual(partition(on.clusters), partition(off.clusters), `seed ${seed}, ${strategy}`);
      assert.equal(on.stats.checkedMerges, off.stats.checkedMerges);
      assert.ok(on.stats.vetoedMerges < off.stats.vetoedMerges, `seed ${seed}, ${strategy}: vetoes ${on.stats.vetoedMerges} vs ${off.stats.vetoedMerges}`);
    }
  }
});

test("directprobe: veto hints (a vetoed ancestor pair's witness tried first) change no cluster and no veto", () => {
  let hinted = 0;
  for (const [seed, spread] of [
    [5, 9],
    [12, 7],
    [3, 11],
  ]) {
    const { m, y } = blobs(seed, 50, 5, 4, spread);
    const on = directProbe(m, y, { strategy: "forward" });
    const off = directProbe(m, y, { strategy: "forward", vetoHints: false });
    assert.deepEqual(partition(on.clusters), partition(off.clusters), `seed ${seed}`);
    assert.equal(on.stats.vetoedMerges, off.stats.vetoedMerges);
    assert.equal(on.stats.checkedMerges, off.stats.checkedMerges);
    assert.equal(off.stats.hintedVetoes, 0);
    hinted += on.stats.hintedVetoes;
  }
  assert.ok(hinted > 0, "some vetoes must be decided by hints for the test to mean something");
});

test("directprobe: nested labels split the outer one; duplicated points and a single-point label are fine", () => {
  // Label 0 on a ring, label 1 at its centre (one point, duplicated twice), label 2 a far single point.
  const rows: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < 24; i++) {
    const t = (2 * Math.PI * i) / 24;
    rows.push([Math.cos(t) * 5, Math.sin(t) * 5]);
    y.push(0);
  }
  rows.push([0, 0], [0, 0], [0.1, 0]);
  y.push(1, 1, 1);
  rows.push([50, 50]);
  y.push(2);
  const r = directProbe(fromRows(rows), y);
  const byLabel = (l: number) => r.clusters.filter((c) => c.label === l);
  assert.ok(byLabel(0).length >= 2, `the ring must split (got ${byLabel(0).length} clusters)`);
  assert.equal(byLabel(1).length, 1);
  assert.deepEqual(Array.from(byLabel(2)[0].members), [27]);
  assert.equal(r.linear, false);
});

test("directprobe: identical points with different labels are reported, not looped on", () => {
  const m = fromRows([[0, 0], [1, 1], [0, 0], [2, 2], [1, 1]]);
  const y = [0, 0, 1, 1, 0];
  assert.deepEqual(findLabelConflicts(m, y), [{ points: [0, 2], labels: [0, 1] }]);
  assert.throws(() => directProbe(m, y), (e: unknown) => e instanceof LabelConflictError && /points 0, 2 \(labels 0, 1\)/.test((e as Error).message));
});

test("directprobe: hyperplane extensions in native batches give the same clusters, extensions and solves as one at a time", (t) => {
  if (!loadNativeDist()?.extremebatch) {
    t.skip("native distance addon without extremebatch (npm run build:native)");
    return;
  }
  let extensions = 0;
  for (const [seed, spread] of [
    [5, 9],
    [3, 11],
  ]) {
    const { m, y } = blobs(seed, 60, 6, 4, spread);
    const on = directProbe(m, y, { strategy: "forward" });
    const off = directProbe(m, y, { strategy: "forward", batchExtensions: false });
    assert.deepEqual(partition(on.clusters), partition(off.clusters), `seed ${seed}`);
    for (const k of ["vetoedMerges", "certExtensions", "certHits", "hullSolves", "hullIterations", "centroidDirection", "checks"] as const) {
      assert.equal(on.stats[k], off.stats[k], `seed ${seed}: ${k}`);
    }
    assert.equal(off.stats.batchedExtensions, 0);
    extensions += on.stats.batchedExtensions;
  }
  assert.ok(extensions > 100, `the merges must extend hyperplanes in batches for the test to mean something (${extensions})`);
});
