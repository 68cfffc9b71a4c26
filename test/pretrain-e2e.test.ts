import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { prepareCorpus, loadTokens, readCorpusManifest } from "../lib/pretrain/corpus";
import { pretrain, exportPretrained, defaultVocabPath } from "../lib/pretrain/pretrain";
import { loadBertModel } from "../lib/model/checkpoint";
import { BertTokenizer } from "../lib/tokenize/wordpiece";
import { silentSink } from "../lib/util/progress";
import { readSafetensors } from "../lib/model/safetensors";

/** A small corpus in the shared corpus' format: gzip'd, one paragraph per line, blank line between documents. */
function makeCorpus(dir: string): void {
  const words = "the cat sat on a mat while the dog ran across the green field near the old river bank".split(" ");
  const docs: string[] = [];
  for (let d = 0; d < 30; d++) {
    const paras: string[] = [];
    for (let p = 0; p < 3; p++) {
      const n = 20 + ((d * 7 + p * 3) % 15);
      paras.push(Array.from({ length: n }, (_, i) => words[(d + p * 5 + i * 3) % words.length]).join(" ") + ".");
    }
    docs.push(paras.join("\n"));
  }
  fs.mkdirSync(path.join(dir, "a"), { recursive: true });
  fs.writeFileSync(path.join(dir, "a", "one.txt.gz"), zlib.gzipSync(docs.slice(0, 15).join("\n\n") + "\n"));
  fs.writeFileSync(path.join(dir, "two.txt.gz"), zlib.gzipSync(docs.slice(15).join("\n\n") + "\n"));
}

test("corpus: documents tokenized into train/held-out shards; a second preparation reuses them", async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "ftgeo-corpus-"));
  makeCorpus(path.join(root, "corpus"));
  const vocab = defaultVocabPath();
  const tok = BertTokenizer.fromVocabFile(vocab);
  const m = await prepareCorpus(path.join(root, "corpus"), path.join(root, "out"), tok, vocab, { heldOutEvery: 5 });
  assert.deepEqual(m.shards.map((s) => s.source), ["a/one.txt.gz", "two.txt.gz"]);
  assert.deepEqual(m.shards.map((s) => s.documents), [15, 15]);
  const train = loadTokens(path.join(root, "out"), "train");
  const held = loadTokens(path.join(root, "out"), "heldOut");
  // Every 5th document is held out: 3 of 15 per file; each document ends with [SEP].
  const seps = (a: Uint16Array) => a.filter((x) => x === tok.sepId).length;
  assert.equal(seps(train), 24);
  assert.equal(seps(held), 6);
  assert.equal(tok.tokenOf(train[0]), "the");
  const mtime = fs.statSync(path.join(root, "out", m.shards[0].train)).mtimeMs;
  const manifestTime = fs.statSync(path.join(root, "out", "corpus.json")).mtimeMs;
  await prepareCorpus(path.join(root, "corpus"), path.join(root, "out"), tok, vocab, { heldOutEvery: 5 });
  assert.equal(fs.statSync(path.join(root, "out", m.shards[0].train)).mtimeMs, mtime, "shard reused, not rewritten");
  assert.equal(fs.statSync(path.join(root, "out", "corpus.json")).mtimeMs, manifestTime, "unchanged file list not rewritten");
  assert.equal(readCorpusManifest(path.join(root, "out"))!.shards.length, 2);
  // Another run sharing the cache with --corpus-files 1 rewrites the file list: a run holding its own manifest
  // still reads all of its tokens.
  await prepareCorpus(path.join(root, "corpus"), path.join(root, "out"), tok, vocab, { heldOutEvery: 5, maxFiles: 1 });
  assert.equal(readCorpusManifest(path.join(root, "out"))!.shards.length, 1);
  assert.equal(loadTokens(path.join(root, "out"), "train", m).length, train.length);
});

test("pretrain end to end (tiny shape, a few updates): snapshots, held-out metrics, resume, export loads as a model", async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "ftgeo-pretrain-"));
  makeCorpus(path.join(root, "corpus"));
  process.env.FTGEO_CACHE = path.join(root, "cache");
  const opts = {
    corpusDir: path.join(root, "corpus"),
    runDir: path.join(root, "run"),
    tokens: 4 * 32 * 6,
    seqLen: 32,
    batch: 4,
    lr: 1e-3,
    snapshotEvery: 3,
    evalBlocks: 4,
    heldOutEvery: 5,
    progressSink: silentSink(),
    log: () => {},
  };
  let calls = 0;
  const first = await pretrain({ ...opts, shouldStop: () => ++calls >= 3 });
  assert.equal(first.finished, false);
  assert.equal(first.steps, 3);
  const second = await pretrain(opts);
  assert.equal(second.finished, true);
  assert.equal(second.steps, 6);
  assert.equal(second.loop.resumedFrom, 3);
  assert.ok(second.heldOut && Number.isFinite(second.heldOut.loss) && second.heldOut.accuracy >= 0 && second.heldOut.accuracy <= 1);
  // An untrained 30,522-way softmax starts near ln(30522) = 10.3; the held-out loss must be finite and not above it.
  assert.ok(second.heldOut!.loss < 10.6, `held-out loss ${second.heldOut!.loss}`);
  const out = await exportPretrained(opts.runDir, path.join(root, "model"));
  assert.ok(fs.readFileSync(path.join(out, "README.md"), "utf8").includes("not Google's BERT-tiny"));
  const loaded = await loadBertModel(out);
  assert.equal(loaded.config.hidden_size, 128);
  assert.equal(loaded.config.num_hidden_layers, 2);
  loaded.model.dispose();

  // A second phase starts from the first run's last snapshot: its step-0 weights are that snapshot's, and the
  // exported card counts both phases' tokens (6 + 3 updates of 4 x 32). This phase trains without dropout, which the
  // card reports while config.json keeps BERT's dropout for fine-tuning.
  const phase2 = {
    ...opts,
    runDir: path.join(root, "run2"),
    tokens: 4 * 32 * 3,
    initFrom: path.join(opts.runDir, "snapshots", "step-0000006"),
    noDropout: true,
    sinusoidalPositions: true,
  };
  const third = await pretrain(phase2);
  assert.equal(third.finished, true);
  assert.equal(third.tokensSeen, 9 * 4 * 32);
  const a = readSafetensors(path.join(opts.runDir, "snapshots", "step-0000006", "model.safetensors")).tensors;
  const b = readSafetensors(path.join(phase2.runDir, "snapshots", "step-0000000", "model.safetensors")).tensors;
  for (const name of ["embeddings.word_embeddings.weight", "encoder.layer.1.output.dense.weight", "cls.predictions.bias"]) {
    assert.deepEqual(b.get(name)!.data, a.get(name)!.data, `${name} carried over`);
  }
  // ... except the position table, replaced by sinusoids: entry (pos 3, column 2) = 0.02 * sqrt(2) * sin(3 / 10000^(2/128)).
  const table = b.get("embeddings.position_embeddings.weight")!;
  assert.ok(Math.abs(table.data[3 * 128 + 2] - 0.02 * Math.SQRT2 * Math.sin(3 / Math.pow(10000, 2 / 128))) < 1e-7);
  assert.ok(Math.abs(table.data[5 * 128 + 127] - 0.02 * Math.SQRT2 * Math.cos(5 / Math.pow(10000, 126 / 128))) < 1e-7);
  const out2 = await exportPretrained(phase2.runDir, path.join(root, "model2"));
  const card2 = fs.readFileSync(path.join(out2, "README.md"), "utf8");
  assert.ok(card2.includes("| tokens seen | 1,152 (768 in earlier phases, then 3 updates of 4 x 32) |"), card2);
  assert.match(card2, /\| earlier phases \| 6 updates of 4 x 32 with peak lr [^|]* tokens, run to its end \(768 tokens in all/, "a finished phase is not called stopped");
  assert.equal(JSON.parse(fs.readFileSync(path.join(out2, "pretraining.json"), "utf8")).tokensSeen, 1152);
  assert.ok(card2.includes("dropout 0 during pretraining (config.json keeps 0.1 for fine-tuning)"), card2);
  assert.ok(card2.includes(" --no-dropout --sinusoidal-positions"), card2);
  assert.ok(card2.includes("position embeddings set to sinusoids at the start of this phase"), card2);
  assert.equal(JSON.parse(fs.readFileSync(path.join(out2, "config.json"), "utf8")).hidden_dropout_prob, 0.1);
  // Not a pretraining snapshot: refused, naming the argument.
  await assert.rejects(pretrain({ ...phase2, runDir: path.join(root, "run3"), initFrom: root }), /--init-from/);
  delete process.env.FTGEO_CACHE;
});
