import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ensureReps, getLayer, loadLayer, loadLayerRows, storeStats, type RepsEncoder, type RepsSentenceVectors } from "../lib/reps/store";
import type { Task, TaskKind } from "../lib/tasks/types";
import { silentSink } from "../lib/util/progress";

/**
 * A deterministic stand-in encoder so the store's bookkeeping can be checked value by value: word w of a sentence at
 * layer l gets the vector [hash(word) + l, position, l, ...]; [CLS] gets [-1 - l, number of words, ...].
 * (The real BERT path is covered end to end in probe-e2e.test.ts.)
 */
function fakeEncoder(id: string, hidden = 4, numLayers = 3, failAfter = Infinity): RepsEncoder & { calls: number } {
  let served = 0;
  const enc = {
    id,
    hidden,
    numLayers,
    calls: 0,
    async *encode(sentences: string[][], layers: number[]): AsyncIterable<RepsSentenceVectors> {
      enc.calls++;
      for (const words of sentences) {
        if (served >= failAfter) throw new Error("simulated crash");
        served++;
        yield {
          words: layers.map((l) => {
            const v = new Float32Array(words.length * hidden);
            words.forEach((w, i) => {
              v[i * hidden] = wordCode(w) + l;
              v[i * hidden + 1] = i;
              v[i * hidden + 2] = l;
            });
            return v;
          }),
          cls: layers.map((l) => Float32Array.from({ length: hidden }, (_, k) => (k === 0 ? -1 - l : k === 1 ? words.length : 0))),
        };
      }
    },
  };
  return enc;
}

function wordCode(w: string): number {
  let h = 0;
  for (const c of w) h = (h * 31 + c.charCodeAt(0)) % 1000;
  return h;
}

function makeTask(kind: TaskKind, sentences: string[][]): Task {
  const examples =
    kind === "sentence"
      ? sentences.map((_, s) => ({ sentence: s, targets: [], label: s % 2 }))
      : sentences.flatMap((words, s) =>
          words.map((_, i) => ({ sentence: s, targets: kind === "pair" ? [i, (i + 1) % words.length] : [i], label: (s + i) % 3 })),
        );
  return { name: `toy-${kind}`, kind, labels: ["a", "b", "c"], source: "test", splits: { train: { name: "train", sentences, sentenceIds: sentences.map((_, i) => String(i)), examples } } };
}

const SENTS = [["the", "cat", "sat"], ["a", "dog"], ["birds", "fly", "high", "today"], ["ok"]];
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "ftgeo-store-"));

test("store: token, pair and sentence vectors are the encoder's, in example order with labels", async () => {
  const root = tmp();
  for (const kind of ["token", "pair", "sentence"] as TaskKind[]) {
    const task = makeTask(kind, SENTS);
    const enc = fakeEncoder("m1");
    const entry = await ensureReps({ encoder: enc, task, split: "train", root, chunkSentences: 2, progress: silentSink() });
    const ex = task.splits.train.examples;
    assert.equal(entry.manifest.n, ex.length);
    assert.equal(entry.manifest.dim, kind === "pair" ? 8 : 4);
    for (const layer of [0, 2]) {
      const d = loadLayer(entry, layer);
      for (let r = 0; r < d.n; r++) {
        const e = ex[d.index[r]];
        assert.equal(d.labels[r], e.label);
        const words = SENTS[e.sentence];
        const row = Array.from(d.data.subarray(r * d.dim, (r + 1) * d.dim));
        if (kind === "sentence") assert.deepEqual(row, [-1 - layer, words.length, 0, 0]);
        else {
          const expect = e.targets.flatMap((w) => [wordCode(words[w]) + layer, w, layer, 0]);
          assert.deepEqual(row, expect);
        }
      }
    }
    const some = loadLayerRows(entry, 1, [2, 0]);
    const all = loadLayer(entry, 1);
    assert.deepEqual(Array.from(some), [...all.data.subarray(2 * all.dim, 3 * all.dim), ...all.data.subarray(0, all.dim)]);
  }
});

test("store: a second request is a read; a subset of layers is added without recomputing the others", async () => {
  const root = tmp();
  const task = makeTask("token", SENTS);
  const enc = fakeEncoder("m2");
  const before = { ...storeStats };
  await ensureReps({ encoder: enc, task, split: "train", root, layers: [0], progress: silentSink() });
  assert.equal(storeStats.extractions - before.extractions, 1);
  const again = await ensureReps({ encoder: enc, task, split: "train", root, layers: [0], progress: silentSink() });
  assert.deepEqual(again.computed, []);
  assert.equal(storeStats.extractions - before.extractions, 1, "cached: no second extraction");
  assert.equal(storeStats.sentencesEncoded - before.sentencesEncoded, SENTS.length);
  const more = await ensureReps({ encoder: enc, task, split: "train", root, layers: [0, 2], progress: silentSink() });
  assert.deepEqual(more.computed, [2]);
  assert.deepEqual(Object.keys(more.manifest.layers).sort(), ["0", "2"]);
  const d = await getLayer({ encoder: enc, task, split: "train", root, layers: [0, 2], progress: silentSink() }, 2);
  assert.equal(d.entry.computed.length, 0);
  assert.equal(d.data[0], wordCode("the") + 2);
});

test("store: changed data (stale entry) and a truncated or altered file (corrupt entry) are recomputed", async () => {
  const root = tmp();
  const enc = fakeEncoder("m3");
  const task = makeTask("token", SENTS);
  const e1 = await ensureReps({ encoder: enc, task, split: "train", root, progress: silentSink() });
  // Stale: the same task/split name with different words.
  const changed = makeTask("token", [["the", "cow", "sat"], ...SENTS.slice(1)]);
  const before = storeStats.extractions;
  const e2 = await ensureReps({ encoder: enc, task: changed, split: "train", root, progress: silentSink() });
  assert.equal(e2.dir, e1.dir);
  assert.equal(storeStats.extractions, before + 1);
  assert.equal(loadLayer(e2, 0).data[1 * 4], wordCode("cow"));
  // Corrupt: truncated layer file.
  const f1 = path.join(e2.dir, "layer-1.npy");
  fs.truncateSync(f1, fs.statSync(f1).size - 4);
  const e3 = await ensureReps({ encoder: enc, task: changed, split: "train", root, progress: silentSink() });
  assert.deepEqual(e3.computed, [1]);
  assert.equal(loadLayer(e3, 1).data[0], wordCode("the") + 1);
  // Same size, altered in the middle (outside the quick fingerprint's first/last 64 KB): only verify "full" sees it.
  const wide = fakeEncoder("m3-wide", 8192, 1);
  const w1 = await ensureReps({ encoder: wide, task: changed, split: "train", root, progress: silentSink() });
  const f0 = path.join(w1.dir, "layer-0.npy");
  const buf = fs.readFileSync(f0);
  const at = Math.floor(buf.length / 2 / 4) * 4;
  buf.writeFloatLE(12345, at);
  fs.writeFileSync(f0, buf);
  const quick = await ensureReps({ encoder: wide, task: changed, split: "train", root, progress: silentSink() });
  assert.deepEqual(quick.computed, [], "the quick check trusts size + fingerprint");
  const full = await ensureReps({ encoder: wide, task: changed, split: "train", root, verify: "full", progress: silentSink() });
  assert.deepEqual(full.computed, [0]);
  assert.equal(loadLayer(full, 0).data.includes(12345), false);
});

test("store: an interrupted extraction resumes after its last complete chunk", async () => {
  const root = tmp();
  const task = makeTask("token", SENTS);
  const crashing = fakeEncoder("m4", 4, 3, 3); // dies on the 4th sentence
  await assert.rejects(ensureReps({ encoder: crashing, task, split: "train", root, chunkSentences: 1, progress: silentSink() }), /simulated crash/);
  const before = storeStats.sentencesEncoded;
  const enc = fakeEncoder("m4");
  const entry = await ensureReps({ encoder: enc, task, split: "train", root, chunkSentences: 1, progress: silentSink() });
  assert.equal(storeStats.sentencesEncoded - before, 1, "only the last sentence is encoded again");
  const d = loadLayer(entry, 1);
  assert.equal(d.n, 10);
  assert.deepEqual(Array.from(d.data.subarray(9 * 4, 10 * 4)), [wordCode("ok") + 1, 0, 1, 0]);
  assert.equal(fs.existsSync(path.join(entry.dir, "progress.json")), false);
  assert.deepEqual(fs.readdirSync(entry.dir).filter((f) => f.includes("partial")), []);
});

test("store: --limit keeps a seeded subset, keyed separately", async () => {
  const root = tmp();
  const task = makeTask("token", SENTS);
  const enc = fakeEncoder("m5");
  const a = await ensureReps({ encoder: enc, task, split: "train", root, limit: 4, seed: 1, progress: silentSink() });
  const b = await ensureReps({ encoder: enc, task, split: "train", root, limit: 4, seed: 2, progress: silentSink() });
  assert.equal(a.manifest.n, 4);
  assert.notEqual(a.dir, b.dir);
  const ia = loadLayer(a, 0).index;
  assert.deepEqual(Array.from(ia), Array.from(ia).sort((x, y) => task.splits.train.examples[x].sentence - task.splits.train.examples[y].sentence || x - y));
  assert.notDeepEqual(Array.from(ia), Array.from(loadLayer(b, 0).index));
  await assert.rejects(ensureReps({ encoder: enc, task, split: "dev", root }), /has no split "dev"/);
  await assert.rejects(ensureReps({ encoder: enc, task, split: "train", root, layers: [3] }), /layer 3 does not exist/);
});
