/**
 * encodeSentences on the committed tiny random BERT (test/fixtures/tiny-bert): word vectors against PyTorch's
 * reference hidden states, against a direct forward pass pooled here in plain JS, padding invariance, windows for
 * long sentences, layer selection, chunking.
 */
import { test, before } from "node:test";
import * as assert from "node:assert/strict";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/model/backend";
import { loadBertModel } from "../lib/model/checkpoint";
import type { BertModel } from "../lib/model/bert";
import { encodeSentences, poolWords, type EncodeOptions, type EncodeStats, type SentenceEncoding } from "../lib/model/encode";
import { alignSentence, wordPooling, type RowSpan } from "../lib/tokenize/align";
import { BertTokenizer } from "../lib/tokenize/wordpiece";
import { silentSink } from "../lib/util/progress";
import { repoRoot } from "../lib/util/paths";
import { Rng } from "../lib/util/rng";

const FIXTURE = path.join(repoRoot(), "test", "fixtures", "tiny-bert");
let model: BertModel;
let tok: BertTokenizer;

before(async () => {
  await initBackend();
  model = (await loadBertModel(FIXTURE)).model;
  tok = BertTokenizer.fromModelDir(FIXTURE);
});

async function encodeAll(sentences: string[][], opts: EncodeOptions = {}): Promise<{ out: SentenceEncoding[]; stats: EncodeStats }> {
  const out: SentenceEncoding[] = [];
  const gen = encodeSentences(model, tok, sentences, { onProgress: silentSink(), ...opts });
  for (;;) {
    const r = await gen.next();
    if (r.done) return { out, stats: r.value };
    out.push(r.value);
  }
}

function maxAbsDiff(a: Float32Array, b: Float32Array | number[]): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Sentences of words built from the fixture vocabulary: whole words, words of several pieces, punctuation. */
function sentencesFor(n: number, seed: number, maxWords: number): string[][] {
  const rng = new Rng(seed);
  const words = ["the", "city", "population", "North", "xylophone", "qz", "can't", "U.S.", "1987", "show", "&", "few", "we", "zebra"];
  return Array.from({ length: n }, () => Array.from({ length: 1 + rng.int(maxWords) }, () => words[rng.int(words.length)]));
}

test("single-piece words reproduce PyTorch's hidden states of every layer (reference.json)", async () => {
  const ref = require(path.join(FIXTURE, "reference.json"));
  const batch = ref.batches[0];
  const ids: number[] = batch.input_ids[0];
  // Row 0 is [CLS] w1 ... w10 [SEP] with whole-word tokens: the words themselves tokenize back to those ids.
  const words = ids.slice(1, -1).map((id) => tok.tokenOf(id));
  assert.deepEqual(alignSentence(tok, words, { maxLength: 64 }).windows[0], ids);
  const { out } = await encodeAll([words]);
  const [B, S, H] = [batch.input_ids.length, ids.length, ref.hidden_size];
  for (let l = 0; l <= ref.num_hidden_layers; l++) {
    const buf = Buffer.from(batch.hidden_states[l], "base64");
    const states = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    assert.equal(states.length, B * S * H);
    const row0 = states.subarray(0, S * H);
    assert.ok(maxAbsDiff(out[0].words[l], row0.slice(H, (S - 1) * H)) < 1e-4, `layer ${l} word vectors`);
    assert.ok(maxAbsDiff(out[0].cls[l], row0.slice(0, H)) < 1e-4, `layer ${l} [CLS]`);
  }
});

test("word vectors are the means of their sub-word states from a direct forward pass; [CLS] is position 0", async () => {
  const sentences = sentencesFor(6, 1, 9);
  const { out, stats } = await encodeAll(sentences, { batchSize: 4 });
  assert.equal(out.length, sentences.length);
  assert.equal(stats.sentences, 6);
  assert.equal(stats.words, sentences.reduce((n, s) => n + s.length, 0));
  const H = model.config.hidden_size;
  let multiPiece = 0;
  for (let i = 0; i < sentences.length; i++) {
    assert.equal(out[i].index, i);
    const a = alignSentence(tok, sentences[i], { maxLength: 64 });
    const ids = a.windows[0];
    const states = tf.tidy(() => model.forward(tf.tensor2d([ids], [1, ids.length], "int32"), tf.ones([1, ids.length], "int32") as tf.Tensor2D).map((t) => t.arraySync()[0]));
    for (let l = 0; l < states.length; l++) {
      const expected: number[] = [];
      for (const s of a.spans) {
        if (s.end - s.start > 1) multiPiece++;
        for (let d = 0; d < H; d++) {
          let sum = 0;
          for (let p = s.start; p < s.end; p++) sum += states[l][p][d];
          expected.push(sum / (s.end - s.start));
        }
      }
      assert.ok(maxAbsDiff(out[i].words[l], expected) < 1e-5, `sentence ${i} layer ${l}`);
      const clsDiff = maxAbsDiff(out[i].cls[l], states[l][0]);
      assert.ok(clsDiff < 1e-5, `sentence ${i} layer ${l}: [CLS] differs by ${clsDiff}`);
    }
  }
  assert.ok(multiPiece > 0, "the sample must contain words of several pieces");
});

test("results do not depend on batching and padding (mixed lengths vs one at a time)", async () => {
  const sentences = sentencesFor(14, 2, 24);
  const together = (await encodeAll(sentences, { batchSize: 8 })).out;
  const alone = (await encodeAll(sentences, { batchSize: 1 })).out;
  const chunked = (await encodeAll(sentences, { batchSize: 5, chunkBytes: 1 })).out;
  let worst = 0;
  for (let i = 0; i < sentences.length; i++) {
    assert.equal(together[i].index, i);
    assert.equal(chunked[i].index, i);
    for (let l = 0; l < together[i].words.length; l++) {
      worst = Math.max(worst, maxAbsDiff(together[i].words[l], alone[i].words[l]), maxAbsDiff(together[i].cls[l], alone[i].cls[l]));
      assert.equal(maxAbsDiff(chunked[i].words[l], together[i].words[l]) < 1e-5, true);
    }
  }
  assert.ok(worst < 1e-5, `batched vs single max difference ${worst}`);
});

test("a 300-word sentence longer than the model's 64 positions: every word gets its window's vector", async () => {
  const sentence = sentencesFor(300, 4, 1).map((s) => s[0]);
  assert.equal(sentence.length, 300);
  const { out, stats } = await encodeAll([sentence], { batchSize: 4 });
  assert.equal(stats.windowedSentences, 1);
  assert.equal(out[0].numWords, 300);
  const a = alignSentence(tok, sentence, { maxLength: 64 });
  assert.ok(a.windows.length >= 5);
  assert.equal(out[0].windows, a.windows.length);
  // Reference: each window's words encoded as a sentence of their own (it fits, so no windowing is involved).
  const H = model.config.hidden_size;
  const perWindow = (await encodeAll(a.windowWords.map(([f, z]) => sentence.slice(f, z)))).out;
  for (let l = 0; l < out[0].words.length; l++) {
    for (let w = 0; w < 300; w++) {
      const k = a.spans[w].window;
      const local = w - a.windowWords[k][0];
      const got = out[0].words[l].subarray(w * H, (w + 1) * H);
      assert.ok(got.some((x) => x !== 0) && got.every(Number.isFinite));
      assert.ok(maxAbsDiff(got, perWindow[k].words[l].subarray(local * H, (local + 1) * H)) < 1e-5, `word ${w} layer ${l}`);
    }
    assert.ok(maxAbsDiff(out[0].cls[l], perWindow[0].cls[l]) < 1e-5);
  }
});

test("layer selection, empty sentences and argument errors", async () => {
  const sentences = [["the", "city"], [], ["North"]];
  const all = (await encodeAll(sentences)).out;
  const some = (await encodeAll(sentences, { layers: [2, 0] })).out;
  assert.equal(all[0].words.length, model.config.num_hidden_layers + 1);
  assert.equal(some[0].words.length, 2);
  assert.deepEqual(some[0].words[0], all[0].words[2]);
  assert.deepEqual(some[2].cls[1], all[2].cls[0]);
  assert.equal(all[1].numWords, 0);
  assert.equal(all[1].words[0].length, 0);
  assert.ok(all[1].cls[0].some((x) => x !== 0));
  await assert.rejects(encodeAll(sentences, { layers: [3] }), /argument layers: layer 3 does not exist/);
  await assert.rejects(encodeAll(sentences, { maxLength: 65 }), /argument maxLength/);
  await assert.rejects(encodeAll(sentences, { batchSize: 0 }), /argument batchSize/);
  await assert.rejects(encodeAll(sentences.map(() => ["x"]), { layers: [] }), /argument layers/);
  const big = BertTokenizer.bertBaseUncased();
  await assert.rejects(
    (async () => {
      for await (const _ of encodeSentences(model, big, sentences, { onProgress: silentSink() })) void _;
    })(),
    /larger than the model's vocab_size/,
  );
});

test("poolWords (tfjs, for fine-tuning heads) gives the sub-word means and their gradient", () => {
  const rng = new Rng(5);
  const rows = 3, seqLen = 7, H = 5;
  const values = Float32Array.from({ length: rows * seqLen * H }, () => rng.normal());
  const spans: RowSpan[] = [{ row: 0, start: 1, end: 4 }, { row: 2, start: 2, end: 3 }, { row: 1, start: 5, end: 7 }];
  const pooling = wordPooling(spans, seqLen);
  const flat = tf.tensor2d(values, [rows * seqLen, H]);
  const got = poolWords(flat, pooling).dataSync() as Float32Array;
  const expected: number[] = [];
  for (const s of spans) {
    for (let d = 0; d < H; d++) {
      let sum = 0;
      for (let p = s.start; p < s.end; p++) sum += values[(s.row * seqLen + p) * H + d];
      expected.push(sum / (s.end - s.start));
    }
  }
  assert.ok(maxAbsDiff(got, expected) < 1e-6);
  // d sum(pooled) / d x = 1/len at each word's pieces, 0 elsewhere.
  const grad = tf.grad((x: tf.Tensor) => tf.sum(poolWords(x as tf.Tensor2D, pooling)))(flat).dataSync() as Float32Array;
  const expectedGrad = new Float32Array(rows * seqLen * H);
  for (const s of spans) for (let p = s.start; p < s.end; p++) expectedGrad.fill(1 / (s.end - s.start), (s.row * seqLen + p) * H, (s.row * seqLen + p + 1) * H);
  assert.ok(maxAbsDiff(grad, expectedGrad) < 1e-6);
  assert.deepEqual(poolWords(flat, wordPooling([], seqLen)).shape, [0, H]);
  flat.dispose();
});
