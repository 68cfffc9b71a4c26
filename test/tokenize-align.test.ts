import { test } from "node:test";
import * as assert from "node:assert/strict";
import { BertTokenizer } from "../lib/tokenize/wordpiece";
import { alignSentence, padRows, planBatches, wordPooling, wordPoolingMatrix, type RowSpan } from "../lib/tokenize/align";
import { Rng } from "../lib/util/rng";

const tok = BertTokenizer.bertBaseUncased();

test("spans of pre-split words, [CLS]/[SEP], and [UNK] for a word with no pieces", () => {
  const a = alignSentence(tok, ["The", "UNwant\u00E9d", "\u200B", "runnings", "!"], { maxLength: 512 });
  assert.equal(a.windows.length, 1);
  const t = a.windows[0].map((id) => tok.tokenOf(id));
  assert.deepEqual(t, ["[CLS]", "the", "unwanted", "[UNK]", "running", "##s", "!", "[SEP]"]);
  assert.deepEqual(a.spans.map((s) => [s.window, s.start, s.end]), [[0, 1, 2], [0, 2, 3], [0, 3, 4], [0, 4, 6], [0, 6, 7]]);
  assert.equal(a.numPieces, 6);
  const empty = alignSentence(tok, [], { maxLength: 8 });
  assert.deepEqual(empty.windows, [[tok.clsId, tok.sepId]]);
  assert.deepEqual(empty.spans, []);
});

/** A long sentence of words with 1-4 pieces each (seeded), from the real vocabulary. */
function longSentence(n: number, seed: number): string[] {
  const rng = new Rng(seed);
  const vocabWords = ["the", "cat", "unwanted", "running", "tokenization", "a", "antidisestablishment", ",", "xylophones", "of"];
  return Array.from({ length: n }, () => vocabWords[rng.int(vocabWords.length)]);
}

test("a 300-word sentence with a small maximum is split into overlapping windows without losing a word", () => {
  const words = longSentence(300, 7);
  for (const [maxLength, stride] of [[16, undefined], [16, 0], [24, 20], [64, 31]] as [number, number | undefined][]) {
    const a = alignSentence(tok, words, { maxLength, stride });
    const room = maxLength - 2;
    assert.ok(a.windows.length > 1);
    assert.equal(a.spans.length, words.length);
    a.windows.forEach((ids, k) => {
      assert.ok(ids.length <= maxLength, `window ${k} has ${ids.length} ids > ${maxLength}`);
      const [first, last] = a.windowWords[k];
      const expect = [tok.clsId, ...words.slice(first, last).flatMap((w) => [...tok.wordIds(w)]), tok.sepId];
      assert.deepEqual(ids, expect);
      if (k > 0) {
        const [pf, pl] = a.windowWords[k - 1];
        assert.ok(first > pf && first <= pl, `window ${k} must start inside or right after window ${k - 1}`);
      }
    });
    assert.equal(a.windowWords[0][0], 0);
    assert.equal(a.windowWords[a.windowWords.length - 1][1], words.length);
    // Each word's span holds exactly its pieces, in a window containing it, with the best min(left, right) context.
    words.forEach((w, i) => {
      const s = a.spans[i];
      assert.deepEqual(a.windows[s.window].slice(s.start, s.end), [...tok.wordIds(w)]);
      const context = (k: number): number => {
        const [first, last] = a.windowWords[k];
        if (i < first || i >= last) return -1;
        const before = words.slice(first, i).reduce((n, x) => n + tok.wordIds(x).length, 0);
        const after = words.slice(i + 1, last).reduce((n, x) => n + tok.wordIds(x).length, 0);
        return Math.min(before, after);
      };
      const chosen = context(s.window);
      assert.ok(chosen >= 0);
      for (let k = 0; k < a.windows.length; k++) assert.ok(context(k) <= chosen, `word ${i}: window ${k} has more context`);
    });
    // With the default stride, a word away from the sentence ends has at least a quarter window on each side.
    if (stride === undefined) {
      const total = a.numPieces;
      a.spans.forEach((s, i) => {
        const pos = words.slice(0, i).reduce((n, x) => n + tok.wordIds(x).length, 0);
        if (pos > room && total - pos > room) assert.ok(Math.min(s.start - 1, a.windows[s.window].length - 1 - s.end) >= Math.floor(room / 4) - 4);
      });
    }
  }
});

test("a word longer than a window is cut to the window, counted, and still gets a span", () => {
  const words = ["a", "antidisestablishmentarianism", "b"];
  const a = alignSentence(tok, words, { maxLength: 5 });
  assert.equal(a.truncatedWords, 1);
  assert.equal(a.spans.length, 3);
  for (const s of a.spans) assert.ok(s.end > s.start && a.windows[s.window].length <= 5);
  assert.throws(() => alignSentence(tok, words, { maxLength: 2 }), /argument maxLength/);
  assert.throws(() => alignSentence(tok, words, { maxLength: 10, stride: 8 }), /argument stride/);
});

test("batches sorted by length cover every row once within the size and token limits", () => {
  const rng = new Rng(3);
  const sentences = Array.from({ length: 57 }, (_, i) => longSentence(1 + rng.int(i === 5 ? 200 : 30), i));
  const aligned = sentences.map((s) => alignSentence(tok, s, { maxLength: 64 }));
  const batches = planBatches(aligned, 8, 8 * 40);
  const seen = new Set<string>();
  let prev = Infinity;
  for (const b of batches) {
    assert.ok(b.length >= 1 && b.length <= 8);
    assert.ok(b.length === 1 || b.length * b[0].length <= 8 * 40);
    for (const r of b) {
      assert.ok(r.length <= prev);
      prev = r.length;
      assert.equal(r.length, aligned[r.sentence].windows[r.window].length);
      seen.add(`${r.sentence}/${r.window}`);
    }
  }
  assert.equal(seen.size, aligned.reduce((n, a) => n + a.windows.length, 0));
  const padded = padRows([[101, 7, 102], [101, 102]], 0);
  assert.deepEqual([...padded.inputIds], [101, 7, 102, 101, 102, 0]);
  assert.deepEqual([...padded.attentionMask], [1, 1, 1, 1, 1, 0]);
  assert.equal(padded.tokens, 5);
});

test("word pooling tables and the dense matrix both give the mean of each word's sub-word vectors", () => {
  const rows = 3, seqLen = 6, hidden = 4;
  const rng = new Rng(11);
  const h = Float32Array.from({ length: rows * seqLen * hidden }, () => rng.normal());
  const spans: RowSpan[] = [{ row: 0, start: 1, end: 2 }, { row: 0, start: 2, end: 5 }, { row: 2, start: 1, end: 3 }, { row: 1, start: 4, end: 5 }];
  const expected = spans.map((s) => {
    const v = new Float64Array(hidden);
    for (let p = s.start; p < s.end; p++) for (let d = 0; d < hidden; d++) v[d] += h[(s.row * seqLen + p) * hidden + d] / (s.end - s.start);
    return v;
  });
  const pool = wordPooling(spans, seqLen);
  assert.equal(pool.pieces, 3);
  const m = wordPoolingMatrix(spans, seqLen, rows);
  spans.forEach((_, j) => {
    for (let d = 0; d < hidden; d++) {
      let viaTable = 0, viaMatrix = 0;
      for (let k = 0; k < pool.pieces; k++) viaTable += pool.weight[j * pool.pieces + k] * h[pool.index[j * pool.pieces + k] * hidden + d];
      for (let c = 0; c < rows * seqLen; c++) viaMatrix += m[j * rows * seqLen + c] * h[c * hidden + d];
      assert.ok(Math.abs(viaTable - expected[j][d]) < 1e-6 && Math.abs(viaMatrix - expected[j][d]) < 1e-6);
    }
  });
  assert.throws(() => wordPooling([{ row: 0, start: 3, end: 3 }], seqLen), /empty or outside/);
});
