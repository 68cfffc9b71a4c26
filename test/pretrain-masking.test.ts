import { test } from "node:test";
import * as assert from "node:assert/strict";
import { makeMlmBatch, predictionsPerSequence, blockCount } from "../lib/pretrain/masking";
import { Rng } from "../lib/util/rng";

const ids = { cls: 101, sep: 102, mask: 103, special: [0, 100, 101, 102, 103] };

function stream(n: number, rng: Rng): Uint16Array {
  const s = new Uint16Array(n);
  for (let i = 0; i < n; i++) s[i] = 1000 + rng.int(20000);
  return s;
}

test("masking: BERT's proportions (15% predicted; 80% [MASK], 10% random, 10% kept) within sampling error", () => {
  const seqLen = 128;
  const s = stream(126 * 400, new Rng(3));
  const b = makeMlmBatch(s, Array.from({ length: 400 }, (_, i) => i), seqLen, 30522, ids, new Rng(9));
  const k = predictionsPerSequence(seqLen);
  assert.equal(k, 19); // round(0.15 * 126), as BERT's create_pretraining_data
  assert.equal(b.positions.length, 400 * k);
  let masked = 0;
  let kept = 0;
  let random = 0;
  for (let j = 0; j < b.positions.length; j++) {
    const p = b.positions[j];
    const col = p % seqLen;
    assert.ok(col >= 1 && col <= seqLen - 2, "never predicts [CLS] or the final [SEP]");
    const got = b.inputIds[p];
    if (got === ids.mask) masked++;
    else if (got === b.labels[j]) kept++;
    else random++;
  }
  const n = b.positions.length;
  // Binomial standard deviations: sqrt(n p (1-p)) ~ 35 for 80%, 26 for 10%; allow 4 sigma.
  assert.ok(Math.abs(masked - 0.8 * n) < 4 * Math.sqrt(n * 0.16), `masked ${masked} of ${n}`);
  assert.ok(Math.abs(random - 0.1 * n) < 4 * Math.sqrt(n * 0.09) + 0.001 * n, `random ${random} of ${n}`);
  assert.ok(Math.abs(kept - 0.1 * n) < 4 * Math.sqrt(n * 0.09) + 0.001 * n, `kept ${kept} of ${n}`);
});

test("masking: rows are [CLS] block [SEP], unmasked positions keep the stream, labels are the originals", () => {
  const seqLen = 16;
  const s = stream(14 * 10, new Rng(1));
  const blocks = [3, 0, 7];
  const b = makeMlmBatch(s, blocks, seqLen, 30522, ids, new Rng(2));
  const predicted = new Set(Array.from(b.positions));
  blocks.forEach((blk, r) => {
    assert.equal(b.inputIds[r * seqLen], ids.cls);
    assert.equal(b.inputIds[r * seqLen + seqLen - 1], ids.sep);
    for (let i = 0; i < 14; i++) {
      const p = r * seqLen + 1 + i;
      if (!predicted.has(p)) assert.equal(b.inputIds[p], s[blk * 14 + i]);
    }
  });
  for (let j = 0; j < b.positions.length; j++) {
    const p = b.positions[j];
    const r = Math.floor(p / seqLen);
    assert.equal(b.labels[j], s[blocks[r] * 14 + (p % seqLen) - 1]);
  }
  assert.equal(new Set(Array.from(b.positions)).size, b.positions.length, "positions are distinct");
});

test("masking: document separators are not predicted and random replacements are never special tokens", () => {
  const seqLen = 32;
  const s = stream(30 * 50, new Rng(5));
  for (let i = 0; i < s.length; i += 7) s[i] = ids.sep;
  const b = makeMlmBatch(s, Array.from({ length: 50 }, (_, i) => i), seqLen, 30522, ids, new Rng(6));
  for (let j = 0; j < b.positions.length; j++) {
    assert.notEqual(b.labels[j], ids.sep);
    const got = b.inputIds[b.positions[j]];
    if (got !== ids.mask) assert.ok(!ids.special.includes(got));
  }
});

test("masking: the same seed gives the same batch (exact resume)", () => {
  const s = stream(62 * 8, new Rng(1));
  const a = makeMlmBatch(s, [1, 2, 3], 64, 30522, ids, new Rng(77));
  const c = makeMlmBatch(s, [1, 2, 3], 64, 30522, ids, new Rng(77));
  assert.deepEqual(a, c);
  assert.equal(blockCount(1000, 64), Math.floor(1000 / 62));
});
