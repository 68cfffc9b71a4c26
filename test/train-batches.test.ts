import { test } from "node:test";
import * as assert from "node:assert/strict";
import { SplitBatches, epochOrder, mixSeed } from "../lib/train/batches";
import { BertTokenizer } from "../lib/tokenize/wordpiece";
import type { Task } from "../lib/tasks/types";

const tokenizer = BertTokenizer.fromVocab(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "un", "##believ", "##able", "dog", "a"]);

function task(kind: Task["kind"], n = 40): Task {
  const sentences = Array.from({ length: n }, (_, i) => ["the", "cat", "sat", "unbelievable", "dog"].slice(0, 1 + (i % 5)));
  const examples = sentences.flatMap((ws, s) =>
    kind === "sentence" ? [{ sentence: s, targets: [], label: s % 2 }] : kind === "pair" ? (ws.length > 1 ? [{ sentence: s, targets: [ws.length - 1, 0], label: 1 }] : []) : ws.map((_, i) => ({ sentence: s, targets: [i], label: i % 3 })),
  );
  return { name: "toy", kind, labels: ["a", "b", "c"], source: "test", splits: { train: { name: "train", sentences, sentenceIds: sentences.map((_, i) => String(i)), examples } } };
}

test("each epoch visits every sentence once, in an order fixed by (seed, epoch)", () => {
  const t = task("token");
  for (const grouped of [false, true]) {
    const b = new SplitBatches(t, t.splits.train, tokenizer, 512);
    const epoch = (seed: number, e: number) => Array.from({ length: b.batchesPerEpoch(6) }, (_, i) => b.trainBatchSentences(seed, e, i, 6, grouped));
    const e0 = epoch(1, 0);
    assert.deepEqual(e0.flat().sort((x, y) => x - y), b.sentences, `grouped=${grouped}`);
    assert.deepEqual(epoch(1, 0), e0, "same seed and epoch, same batches");
    assert.notDeepEqual(epoch(1, 1), e0, "another epoch, another order");
    assert.notDeepEqual(epoch(2, 0), e0, "another seed, another order");
  }
  assert.notDeepEqual(epochOrder(10, 1, 0), epochOrder(10, 1, 1));
  assert.notEqual(mixSeed(1, 2, 3), mixSeed(1, 2, 4));
});

test("grouping by length cuts padding", () => {
  const t = task("token", 400);
  const b = new SplitBatches(t, t.splits.train, tokenizer, 512);
  const padded = (grouped: boolean) => {
    let pad = 0;
    for (let i = 0; i < b.batchesPerEpoch(8); i++) {
      const batch = b.makeBatch(b.trainBatchSentences(3, 0, i, 8, grouped));
      pad += batch.rows * batch.seqLen - batch.tokens;
    }
    return pad;
  };
  assert.ok(padded(true) < padded(false) / 2, `grouped ${padded(true)} vs random ${padded(false)} padding tokens`);
});

test("token batches pool a word's sub-words with equal weights at their flat positions", () => {
  const t = task("token");
  const b = new SplitBatches(t, t.splits.train, tokenizer, 512);
  const batch = b.makeBatch([3, 1]); // "the cat sat unbelievable", "the cat"
  assert.equal(batch.seqLen, 2 + 3 + 3); // [CLS] the cat sat un ##believ ##able [SEP]
  assert.deepEqual(Array.from(batch.inputIds.slice(0, 8)), [2, 5, 6, 7, 8, 9, 10, 3]);
  assert.deepEqual(Array.from(batch.inputIds.slice(8)), [2, 5, 6, 3, 0, 0, 0, 0]);
  assert.deepEqual(Array.from(batch.attentionMask.slice(8)), [1, 1, 1, 1, 0, 0, 0, 0]);
  assert.equal(batch.numExamples, 6);
  assert.equal(batch.first.pieces, 3);
  // Example 3 is "unbelievable": positions 4, 5, 6 of row 0, weight 1/3 each.
  assert.deepEqual(Array.from(batch.first.index.slice(9, 12)), [4, 5, 6]);
  batch.first.weight.slice(9, 12).forEach((w) => assert.ok(Math.abs(w - 1 / 3) < 1e-7));
  // Example 4 is "the" of row 1: flat position 8 + 1, one real slot.
  assert.deepEqual(Array.from(batch.first.index.slice(12, 15)), [9, 0, 0]);
  assert.deepEqual(Array.from(batch.first.weight.slice(12, 15)), [1, 0, 0]);
  assert.deepEqual(Array.from(batch.labels), [0, 1, 2, 0, 0, 1]);
  assert.equal(batch.tokens, 8 + 4);
});

test("pair batches carry the head word; sentence batches the [CLS] row starts", () => {
  const p = task("pair");
  const pb = new SplitBatches(p, p.splits.train, tokenizer, 512).makeBatch([2]); // "the cat sat": dependent "sat", head "the"
  assert.deepEqual(Array.from(pb.first.index), [3]);
  assert.deepEqual(Array.from(pb.second!.index), [1]);
  const s = task("sentence");
  const sb = new SplitBatches(s, s.splits.train, tokenizer, 512).makeBatch([0, 4, 2]);
  assert.deepEqual(Array.from(sb.first.index), [0, sb.seqLen, 2 * sb.seqLen]);
  assert.deepEqual(Array.from(sb.labels), [0, 0, 0]);
});

test("sentences longer than the model's maximum become windows, and every example keeps a vector", () => {
  const t = task("token");
  const b = new SplitBatches(t, t.splits.train, tokenizer, 6); // room for 4 pieces: sentence 4 has 7
  const batch = b.makeBatch([4]);
  assert.ok(batch.rows >= 2, `expected windows, got ${batch.rows} row(s)`);
  assert.equal(batch.numExamples, 5);
  assert.ok(batch.first.weight.every((w) => w >= 0) && batch.first.index.every((i) => i < batch.rows * batch.seqLen));
});
