import { test } from "node:test";
import * as assert from "node:assert/strict";
import { centroidDifferences, centroidMovement, labelCentroids } from "../lib/geometry/centroids";
import { directProbe } from "../lib/geometry/directprobe";
import { clustersSeparable, followClusters } from "../lib/geometry/follow";
import { fromRows, makeMatrix } from "../lib/geometry/matrix";
import { clusterDistanceMatrix, labelDistances, pearson, predictNearestCluster, spatialSimilarity } from "../lib/geometry/measures";
import { pca, pcaOfPaths } from "../lib/geometry/pca";

// Four labels on the corners of a 2-D rectangle 6 wide and 8 high, each a small square of side 2.
function corners() {
  const rows: number[][] = [];
  const y: number[] = [];
  const centres = [
    [0, 0],
    [6, 0],
    [0, 8],
    [6, 8],
  ];
  centres.forEach(([cx, cy], l) => {
    for (const [dx, dy] of [
      [-1, -1],
      [1, -1],
      [-1, 1],
      [1, 1],
    ]) {
      rows.push([cx + dx, cy + dy]);
      y.push(l);
    }
  });
  return { m: fromRows(rows), y };
}

test("measures: cluster distances, label distances, minimum distances and the distance vector (closed form)", () => {
  const { m, y } = corners();
  const r = directProbe(m, y);
  assert.equal(r.numClusters, 4);
  const d = clusterDistanceMatrix(m, r.clusters);
  const ld = labelDistances(r.clusters.map((c) => c.label), d);
  // Squares of side 2 centred 6 apart horizontally: gap 4; 8 apart vertically: gap 6; diagonal: corners
  // (1,1)-(5,7): sqrt(16 + 36).
  const diag = Math.sqrt(52);
  const want = [
    [0, 4, 6, diag],
    [4, 0, diag, 6],
    [6, diag, 0, 4],
    [diag, 6, 4, 0],
  ];
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) assert.ok(Math.abs(ld.matrix[i][j] - want[i][j]) < 1e-3 * Math.max(1, want[i][j]), `${i},${j}: ${ld.matrix[i][j]}`);
  assert.deepEqual(ld.minDistance.map((v) => Math.round(v * 1e4) / 1e4), [4, 4, 4, 4]);
  assert.equal(ld.vector.length, 6);
  assert.ok(Math.abs(ld.vector[0] - 4) < 1e-3 && Math.abs(ld.vector[5] - 4) < 1e-3);
});

test("measures: label distance is the mean over cluster pairs", () => {
  // Clusters: label 0 has two clusters at distances 2 and 4 from label 1's single cluster.
  const ld = labelDistances([0, 0, 1], [
    [0, NaN, 2],
    [NaN, 0, 4],
    [2, 4, 0],
  ]);
  assert.deepEqual(ld.matrix, [
    [0, 3],
    [3, 0],
  ]);
  assert.deepEqual(ld.minDistance, [3, 3]);
});

test("measures: Pearson correlation and spatial similarity over shared labels", () => {
  assert.ok(Math.abs(pearson([1, 2, 3, 4], [2, 4, 6, 8]) - 1) < 1e-12);
  assert.ok(Math.abs(pearson([1, 2, 3], [3, 2, 1]) + 1) < 1e-12);
  assert.ok(Math.abs(pearson([1, 2, 3, 4], [1, 3, 2, 4]) - 0.8) < 1e-12);
  assert.ok(Number.isNaN(pearson([1, 1, 1], [1, 2, 3])));
  const a = labelDistances([0, 1, 2], [
    [0, 1, 2],
    [1, 0, 3],
    [2, 3, 0],
  ]);
  // Space b has an extra label 3 and scales a's distances by 2: similarity over the shared labels is 1.
  const b = labelDistances([0, 1, 2, 3], [
    [0, 2, 4, 9],
    [2, 0, 6, 1],
    [4, 6, 0, 5],
    [9, 1, 5, 0],
  ]);
  const s = spatialSimilarity(a, b);
  assert.deepEqual(s.labels, [0, 1, 2]);
  assert.equal(s.pairs, 3);
  assert.ok(Math.abs(s.similarity - 1) < 1e-12);
});

test("measures: prediction by the nearest cluster hull (not the nearest centroid)", () => {
  // Label 0: a long segment from (0,0) to (10,0); label 1: a point cluster around (5,4)-(6,4).
  const m = fromRows([[0, 0], [10, 0], [5, 4], [6, 4]]);
  const clusters = [
    { label: 0, members: [0, 1] },
    { label: 1, members: [2, 3] },
  ];
  // (9,1.5): 1.5 from the segment, ~3.9 from label 1's hull, but its centroid (5,0) is farther than (5.5,4).
  const test2 = fromRows([[9, 1.5], [5.5, 3.5], [3, 0]]);
  const p = predictNearestCluster(m, clusters, test2, [0, 1, 0]);
  assert.deepEqual(Array.from(p.labels), [0, 1, 0]);
  assert.equal(p.accuracy, 1);
  assert.ok(Math.abs(p.distance[0] - 1.5) < 1e-3 && Math.abs(p.distance[1] - 0.5) < 1e-3);
  assert.ok(p.distance[2] < 1e-3, "a point on the hull has distance 0");
});

test("measures: centroids, movement between checkpoints and difference vectors", () => {
  const before = labelCentroids(fromRows([[0, 0], [2, 0], [5, 5]]), [0, 0, 1]);
  assert.deepEqual(before.labels, [0, 1]);
  assert.deepEqual(Array.from(before.centroids[0]), [1, 0]);
  const after = labelCentroids(fromRows([[4, 4], [4, 4], [5, 5], [7, 7]]), [0, 0, 1, 2]);
  const mv = centroidMovement(before, after);
  assert.deepEqual(mv.labels, [0, 1]);
  assert.ok(Math.abs(mv.movement[0] - 5) < 1e-12 && mv.movement[1] === 0);
  const diff = centroidDifferences(before, after);
  assert.deepEqual(Array.from(diff.vectors[0]), [3, 4]);
});

test("pca: points on a line have one component explaining everything; paths share axes", () => {
  const pts = [0, 1, 2, 3, 4].map((t) => [1 + 2 * t, 2 - t, 3 + 0 * t]);
  const r = pca(pts, 2);
  assert.ok(Math.abs(r.explained[0] - 1) < 1e-9);
  const axis = [2, -1, 0].map((v) => v / Math.sqrt(5));
  assert.ok(Math.abs(Math.abs(r.components[0].reduce((s, v, i) => s + v * axis[i], 0)) - 1) < 1e-9);
  // Same result through the covariance route (more vectors than dimensions).
  const many = Array.from({ length: 10 }, (_, t) => [t, 2 * t]);
  const r2 = pca(many, 1);
  assert.ok(Math.abs(r2.explained[0] - 1) < 1e-9);
  assert.ok(Math.abs(r2.variances[0] - (5 * 55) / 6) < 1e-9, `${r2.variances[0]}`);
  const paths = pcaOfPaths([[[0, 0, 0], [1, 0, 0]], [[0, 1, 0], [1, 1, 0]]], 2);
  assert.equal(paths.paths.length, 2);
  assert.equal(paths.paths[0].length, 2);
});

test("following clusters: reused while still separable, re-clustered when a pair overlaps", () => {
  const { m, y } = corners();
  const r = directProbe(m, y);
  // Another snapshot: every point moved a little (still separable).
  const moved = makeMatrix(m.n, 2, m.data.map((v, i) => v * 1.1 + (i % 2)));
  const f1 = followClusters(moved, y, r.clusters);
  assert.equal(f1.reclustered, false);
  assert.equal(f1.clusters.length, 4);
  // A snapshot where label 3's square collapses onto label 0's: the old clusters overlap, so re-cluster.
  const broken = makeMatrix(m.n, 2, Float32Array.from(m.data));
  for (let i = 12; i < 16; i++) {
    broken.data[i * 2] = broken.data[(i - 12) * 2] + 0.5;
    broken.data[i * 2 + 1] = broken.data[(i - 12) * 2 + 1] + 0.25;
  }
  assert.equal(clustersSeparable(broken, r.clusters).separable, false);
  const f2 = followClusters(broken, y, r.clusters);
  assert.equal(f2.reclustered, true);
  assert.ok(f2.clusters.length > 4);
});
