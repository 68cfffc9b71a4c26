import { test, before } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/model/backend";
import { ClassifierHead } from "../lib/train/heads";
import { wordPooling } from "../lib/tokenize/align";
import type { TaskBatch } from "../lib/train/batches";

before(async () => {
  await initBackend();
});

// Two rows of 3 positions, hidden 2: h[row][pos] = [row*10 + pos, -pos].
const B = 2, T = 3, H = 2;
const h = Array.from({ length: B }, (_, r) => Array.from({ length: T }, (_, p) => [r * 10 + p, -p]));
const batchOf = (kind: TaskBatch["kind"], first: { row: number; start: number; end: number }[], second?: typeof first): TaskBatch => ({
  kind,
  rows: B,
  seqLen: T,
  inputIds: new Int32Array(B * T),
  attentionMask: new Int32Array(B * T).fill(1),
  first: wordPooling(first, T),
  second: second ? wordPooling(second, T) : undefined,
  labels: Int32Array.from(first.map((_, i) => i % 3)),
  numExamples: first.length,
  tokens: B * T,
});

function setHead(head: ClassifierHead, w: number[][], b: number[]) {
  head.weight.assign(tf.tensor2d(w));
  head.bias.assign(tf.tensor1d(b));
}

test("token head: logits of the mean of each word's sub-word vectors, and cross-entropy as in closed form", () => {
  const head = new ClassifierHead({ kind: "token", hidden: H, numLabels: 3, dropout: 0.1, seed: 1 });
  const W = [[1, 0, -1], [0.5, 2, 0]];
  const bias = [0.1, -0.2, 0.3];
  setHead(head, W, bias);
  const batch = batchOf("token", [{ row: 0, start: 1, end: 3 }, { row: 1, start: 0, end: 1 }]);
  const layer = tf.tensor3d(h);
  const logits = head.logits([layer], batch, false, 0).arraySync();
  const vecs = [[(1 + 2) / 2, (-1 - 2) / 2], [10, 0]];
  const expected = vecs.map((x) => bias.map((bj, j) => bj + x[0] * W[0][j] + x[1] * W[1][j]));
  expected.forEach((row, i) => row.forEach((v, j) => assert.ok(Math.abs(logits[i][j] - v) < 1e-5, `${i},${j}: ${logits[i][j]} vs ${v}`)));
  const loss = ClassifierHead.loss(tf.tensor2d(expected), Int32Array.from([2, 0])).arraySync();
  const ce = (z: number[], y: number) => Math.log(z.reduce((s, v) => s + Math.exp(v), 0)) - z[y];
  assert.ok(Math.abs(loss - (ce(expected[0], 2) + ce(expected[1], 0)) / 2) < 1e-5);
  // Training mode drops inputs with a mask fixed by the seed: same seed, same logits; another seed, others.
  const d1 = head.logits([layer], batch, true, 7).arraySync();
  assert.deepEqual(head.logits([layer], batch, true, 7).arraySync(), d1);
  assert.notDeepEqual(head.logits([layer], batch, true, 8).arraySync(), d1);
  head.dispose();
});

test("pair head reads [dependent; head]; sentence head reads the [CLS] position", () => {
  const pair = new ClassifierHead({ kind: "pair", hidden: H, numLabels: 2, dropout: 0, seed: 1 });
  setHead(pair, [[1, 0], [0, 0], [0, 1], [0, 0]], [0, 0]); // logit 0 = dependent's x0, logit 1 = head's x0
  const pb = batchOf("pair", [{ row: 1, start: 2, end: 3 }], [{ row: 0, start: 1, end: 2 }]);
  assert.deepEqual(pair.logits([tf.tensor3d(h)], pb, false, 0).arraySync(), [[12, 1]]);
  const sent = new ClassifierHead({ kind: "sentence", hidden: H, numLabels: 2, dropout: 0, seed: 1 });
  setHead(sent, [[1, 0], [0, 1]], [0, 0]);
  const sb = batchOf("sentence", [{ row: 0, start: 0, end: 1 }, { row: 1, start: 0, end: 1 }]);
  assert.deepEqual(sent.logits([tf.tensor3d(h)], sb, false, 0).arraySync(), [[0, 0], [10, 0]]);
  pair.dispose();
  sent.dispose();
});

test("feature-based head mixes all layers with softmax weights and a scale", () => {
  const head = new ClassifierHead({ kind: "token", hidden: H, numLabels: 2, dropout: 0, seed: 1, mixLayers: 2 });
  setHead(head, [[1, 0], [0, 1]], [0, 0]);
  head.mixWeights!.assign(tf.tensor1d([0, Math.log(3)])); // softmax -> [0.25, 0.75]
  head.mixScale!.assign(tf.scalar(2));
  const batch = batchOf("token", [{ row: 1, start: 1, end: 2 }]);
  const a = tf.tensor3d(h);
  const b = tf.mul(a, 3) as tf.Tensor3D;
  const out = head.logits([a, b], batch, false, 0).arraySync()[0];
  // 2 * (0.25 * [11, -1] + 0.75 * [33, -3]) = [55, -5]
  assert.ok(Math.abs(out[0] - 55) < 1e-4 && Math.abs(out[1] + 5) < 1e-4, `${out}`);
  head.dispose();
});

test("snapshot tensors use the Hugging Face orientation and load back exactly", async () => {
  const head = new ClassifierHead({ kind: "token", hidden: 3, numLabels: 2, dropout: 0, seed: 4 });
  const t = await head.toTensors();
  const w = t.get("classifier.weight")!;
  assert.deepEqual(w.shape, [2, 3]);
  const original = head.weight.arraySync() as number[][];
  assert.equal(w.data[1 * 3 + 2], Math.fround(original[2][1]));
  const back = ClassifierHead.variableValues("classifier.weight", w, head.weight.shape);
  assert.deepEqual(Array.from(back), Array.from(head.weight.dataSync()));
  assert.throws(() => ClassifierHead.variableValues("classifier.weight", w, [4, 2]), /expected \[2, 4\]/);
  head.dispose();
});
