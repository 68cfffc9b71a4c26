/**
 * The representation store: one vector per example of a task split, for every layer of a checkpoint, cached on
 * disk as one .npy file per layer ([n, dim] float32) plus labels.npy / index.npy (int32) and manifest.json, under
 * cacheDir("reps", <checkpoint id>, <task>, <split key>).
 *
 * - Streaming: sentences are encoded in chunks and each layer's rows appended to its own file, so BERT-base on DEP
 *   train (192,042 x 13 x 1,536 floats, 15 GB) never sits in memory; consumers load one layer at a time.
 * - Integrity: the manifest records the checkpoint id, a hash of the selected examples (words, targets, labels)
 *   and, per file, its size, a SHA-256 of the whole file and a quick fingerprint (header, first and last rows).
 *   Reading checks the key, the size and the fingerprint (or the full hash with verify: "full"); a stale or
 *   corrupt layer is recomputed, never used.
 * - Atomicity and resumption: layer files are written as *.partial and renamed in, the manifest is written last
 *   (atomically). An interrupted pass leaves progress.json; the next request with the same key continues after
 *   the last completed chunk instead of starting over.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Task, TaskKind } from "../tasks/types";
import { writeJsonAtomic } from "../util/atomic";
import { argError, fileError, FtgeoError } from "../util/errors";
import { cacheDir } from "../util/paths";
import { Progress, type ProgressSink } from "../util/progress";
import { Rng } from "../util/rng";
import { NpyRowWriter, readNpyFloat32, readNpyHeader, readNpyInt32, readNpyRowsAt, writeNpy } from "./npy";

/** The vectors of one sentence: per requested layer, [numWords x hidden] word vectors and the [CLS] vector. */
export interface RepsSentenceVectors {
  words: Float32Array[];
  cls: Float32Array[];
}

/**
 * What the store needs from an encoder. `encoderFromCheckpoint` (lib/reps/encoder.ts) adapts a BERT checkpoint;
 * anything else with a stable content id (e.g. a fine-tuning snapshot) can be stored the same way.
 */
export interface RepsEncoder {
  /** Content hash of weights + config: the cache key. */
  id: string;
  /** Number of layers including the embedding output (layer 0): transformer layers + 1. */
  numLayers: number;
  hidden: number;
  /** Encode sentences (pre-split words), yielding one RepsSentenceVectors per sentence, in order. */
  encode(sentences: string[][], layers: number[]): AsyncIterable<RepsSentenceVectors>;
}

export interface RepsRequest {
  encoder: RepsEncoder;
  task: Task;
  split: string;
  /** Layers to make sure exist (default: all, 0..numLayers-1). */
  layers?: number[];
  /** Keep a seeded random subset of at most this many examples (quick budgets). */
  limit?: number;
  /** Seed of the subset (default 0). */
  seed?: number;
  /** Sentences per encoder call (default: sized so one chunk holds ~192 MB of vectors). */
  chunkSentences?: number;
  /** "quick" (default): size + fingerprint of header/first/last rows; "full": SHA-256 of every file. */
  verify?: "quick" | "full";
  progress?: ProgressSink;
  /** Override the cache root (default cacheDir("reps")). */
  root?: string;
}

export interface FileRecord {
  file: string;
  size: number;
  sha256: string;
  fingerprint: string;
}

export interface RepsManifest {
  format: "ftgeo-reps/1";
  checkpointId: string;
  task: string;
  kind: TaskKind;
  split: string;
  /** Subset key ("all" or "limit-<n>-seed-<s>"). */
  subset: string;
  examplesHash: string;
  /** Examples stored (rows of every layer file). */
  n: number;
  hidden: number;
  /** Vector size: hidden, or 2 x hidden for pair tasks ([dependent; head]). */
  dim: number;
  numLayers: number;
  labelNames: string[];
  labels: FileRecord;
  /** index.npy: the example index in the split of each row. */
  index: FileRecord;
  layers: Record<string, FileRecord & { shape: [number, number]; seconds: number }>;
}

export interface RepsEntry {
  dir: string;
  manifest: RepsManifest;
  /** Layers computed by this call (empty when everything was read from the cache). */
  computed: number[];
  seconds: number;
}

export interface LayerData {
  n: number;
  dim: number;
  data: Float32Array;
  labels: Int32Array;
  /** Example index in the split of each row. */
  index: Int32Array;
}

/** Counters of store activity, for tests and reports ("a second request is a read"). */
export const storeStats = { extractions: 0, sentencesEncoded: 0, layerReads: 0, invalidated: 0 };

interface Selection {
  /** Example indices into split.examples, sorted by sentence (the row order of the files). */
  examples: Int32Array;
  subset: string;
  hash: string;
}

function selectExamples(req: RepsRequest): Selection {
  const split = req.task.splits[req.split];
  if (!split) throw argError("split", `task ${req.task.name} has no split ${JSON.stringify(req.split)} (has: ${Object.keys(req.task.splits).join(", ")})`);
  const total = split.examples.length;
  let chosen: number[];
  let subset = "all";
  if (req.limit !== undefined && req.limit < total) {
    if (!(Number.isInteger(req.limit) && req.limit > 0)) throw argError("limit", `expected a positive integer, got ${req.limit}`);
    const seed = req.seed ?? 0;
    chosen = new Rng(seed).permutation(total).slice(0, req.limit);
    subset = `limit-${req.limit}-seed-${seed}`;
  } else {
    chosen = Array.from({ length: total }, (_, i) => i);
  }
  // Row order: by sentence, then by position in the split, so each sentence is encoded once per chunk.
  chosen.sort((a, b) => split.examples[a].sentence - split.examples[b].sentence || a - b);
  const h = crypto.createHash("sha256");
  h.update(JSON.stringify({ task: req.task.name, kind: req.task.kind, split: req.split, labels: req.task.labels }));
  const sentenceHashed = new Set<number>();
  for (const i of chosen) {
    const ex = split.examples[i];
    if (!sentenceHashed.has(ex.sentence)) {
      sentenceHashed.add(ex.sentence);
      const words = split.sentences[ex.sentence];
      if (!words) throw new FtgeoError(`task ${req.task.name} split ${req.split}: example ${i} points to missing sentence ${ex.sentence}`);
      h.update(`S${ex.sentence}\u0001${words.join("\u0002")}\u0003`);
    }
    h.update(`E${i}:${ex.sentence}:${ex.targets.join(",")}:${ex.label};`);
  }
  return { examples: Int32Array.from(chosen), subset, hash: h.digest("hex") };
}

function vectorDim(kind: TaskKind, hidden: number): number {
  return kind === "pair" ? 2 * hidden : hidden;
}

export function repsDir(req: Pick<RepsRequest, "encoder" | "task" | "split" | "root">, subset: string): string {
  const root = req.root ?? cacheDir("reps");
  return path.join(root, safeName(req.encoder.id), safeName(req.task.name), safeName(subset === "all" ? req.split : `${req.split}.${subset}`));
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, "_");
}

const FINGERPRINT_BYTES = 64 * 1024;

/** SHA-256 of the header plus the first and last 64 KB, with the size: catches truncation and most rewrites cheaply. */
function fingerprint(file: string): { size: number; fingerprint: string } {
  const fd = fs.openSync(file, "r");
  try {
    const size = fs.fstatSync(fd).size;
    const h = crypto.createHash("sha256");
    const buf = Buffer.alloc(Math.min(FINGERPRINT_BYTES, size));
    fs.readSync(fd, buf, 0, buf.length, 0);
    h.update(buf);
    fs.readSync(fd, buf, 0, buf.length, size - buf.length);
    h.update(buf);
    return { size, fingerprint: h.digest("hex") };
  } finally {
    fs.closeSync(fd);
  }
}

function sha256File(file: string): string {
  const h = crypto.createHash("sha256");
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.alloc(16 * 1024 * 1024);
    let pos = 0;
    for (;;) {
      const got = fs.readSync(fd, buf, 0, buf.length, pos);
      if (got === 0) break;
      h.update(buf.subarray(0, got));
      pos += got;
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest("hex");
}

function recordFile(dir: string, name: string): FileRecord {
  const file = path.join(dir, name);
  return { file: name, ...fingerprint(file), sha256: sha256File(file) };
}

function fileValid(dir: string, rec: FileRecord, verify: "quick" | "full"): boolean {
  const file = path.join(dir, rec.file);
  try {
    const fp = fingerprint(file);
    if (fp.size !== rec.size || fp.fingerprint !== rec.fingerprint) return false;
    return verify === "quick" || sha256File(file) === rec.sha256;
  } catch {
    return false;
  }
}

function readManifest(dir: string): RepsManifest | undefined {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")) as RepsManifest;
    return m.format === "ftgeo-reps/1" ? m : undefined;
  } catch {
    return undefined;
  }
}

/** Layers of `m` that are valid for this request; undefined when the manifest itself does not match (stale). */
function validLayers(dir: string, m: RepsManifest | undefined, req: RepsRequest, sel: Selection, verify: "quick" | "full"): Set<number> | undefined {
  if (!m) return undefined;
  if (m.checkpointId !== req.encoder.id || m.examplesHash !== sel.hash || m.n !== sel.examples.length) return undefined;
  if (m.hidden !== req.encoder.hidden || m.dim !== vectorDim(req.task.kind, req.encoder.hidden)) return undefined;
  if (!fileValid(dir, m.labels, verify) || !fileValid(dir, m.index, verify)) return undefined;
  const ok = new Set<number>();
  for (const [k, rec] of Object.entries(m.layers)) {
    if (fileValid(dir, rec, verify)) ok.add(Number(k));
    else storeStats.invalidated++;
  }
  return ok;
}

interface PassProgress {
  checkpointId: string;
  examplesHash: string;
  layers: number[];
  /** Rows written to every layer-<k>.npy.partial. */
  rows: number;
  /** Positions (in the selection's sentence order) of sentences completely processed. */
  sentencesDone: number;
  seconds: number;
}

/**
 * Make sure the requested layers are stored for this checkpoint / task / split (computing what is missing,
 * stale or corrupt) and return the entry. A second request is a read.
 */
export async function ensureReps(req: RepsRequest): Promise<RepsEntry> {
  const t0 = Date.now();
  const sel = selectExamples(req);
  const dir = repsDir(req, sel.subset);
  const verify = req.verify ?? "quick";
  const all = Array.from({ length: req.encoder.numLayers }, (_, i) => i);
  const wanted = req.layers ?? all;
  for (const l of wanted) {
    if (!(Number.isInteger(l) && l >= 0 && l < req.encoder.numLayers)) {
      throw argError("layers", `layer ${l} does not exist (the encoder has layers 0..${req.encoder.numLayers - 1})`);
    }
  }
  fs.mkdirSync(dir, { recursive: true });
  const existing = readManifest(dir);
  const valid = validLayers(dir, existing, req, sel, verify);
  if (existing && !valid) storeStats.invalidated++;
  const missing = wanted.filter((l) => !valid?.has(l));
  if (missing.length === 0 && existing && valid) {
    return { dir, manifest: existing, computed: [], seconds: (Date.now() - t0) / 1000 };
  }
  const manifest = await extractPass(req, sel, dir, [...new Set(missing)].sort((a, b) => a - b), valid ? existing : undefined);
  return { dir, manifest, computed: missing, seconds: (Date.now() - t0) / 1000 };
}

async function extractPass(req: RepsRequest, sel: Selection, dir: string, layers: number[], keep: RepsManifest | undefined): Promise<RepsManifest> {
  storeStats.extractions++;
  const split = req.task.splits[req.split];
  const { kind } = req.task;
  const hidden = req.encoder.hidden;
  const dim = vectorDim(kind, hidden);
  const n = sel.examples.length;

  // Sentences in row order, and for each the range of rows (examples) it owns.
  const sentenceOrder: number[] = [];
  const rowStart: number[] = [];
  for (let r = 0; r < n; r++) {
    const s = split.examples[sel.examples[r]].sentence;
    if (sentenceOrder.length === 0 || sentenceOrder[sentenceOrder.length - 1] !== s) {
      sentenceOrder.push(s);
      rowStart.push(r);
    }
  }
  rowStart.push(n);

  // Resume a pass interrupted with the same key and layers; otherwise start clean.
  const progressFile = path.join(dir, "progress.json");
  let resume: PassProgress | undefined;
  try {
    const p = JSON.parse(fs.readFileSync(progressFile, "utf8")) as PassProgress;
    if (p.checkpointId === req.encoder.id && p.examplesHash === sel.hash && JSON.stringify(p.layers) === JSON.stringify(layers)) resume = p;
  } catch {
    resume = undefined;
  }
  const partial = (l: number) => path.join(dir, `layer-${l}.npy.partial`);
  let writers: NpyRowWriter[];
  try {
    writers = layers.map((l) => new NpyRowWriter(partial(l), dim, resume ? resume.rows : 0));
  } catch {
    resume = undefined;
    writers = layers.map((l) => new NpyRowWriter(partial(l), dim, 0));
  }
  let sentencesDone = resume?.sentencesDone ?? 0;
  let rowsDone = resume?.rows ?? 0;
  const priorSeconds = resume?.seconds ?? 0;
  if (rowsDone !== rowStart[sentencesDone]) {
    // Inconsistent progress record: start over rather than trust it.
    writers.forEach((w) => w.close());
    writers = layers.map((l) => new NpyRowWriter(partial(l), dim, 0));
    sentencesDone = 0;
    rowsDone = 0;
  }

  // Chunk so that one chunk's vectors for all requested layers stay around 192 MB (larger chunks let the encoder
  // sort more sentences by length, i.e. pad less).
  let avgWords = 0;
  for (const s of sentenceOrder.slice(0, 200)) avgWords += split.sentences[s].length;
  avgWords = Math.max(1, avgWords / Math.max(1, Math.min(200, sentenceOrder.length)));
  const chunk = req.chunkSentences ?? Math.max(8, Math.min(1024, Math.floor((192 * 1024 * 1024) / (avgWords * layers.length * hidden * 4))));

  const progress = new Progress(`extract ${req.task.name}/${req.split}`, sentenceOrder.length, "sentences", req.progress, sentencesDone);
  const tPass = Date.now();
  while (sentencesDone < sentenceOrder.length) {
    const end = Math.min(sentenceOrder.length, sentencesDone + chunk);
    const sentences = sentenceOrder.slice(sentencesDone, end).map((s) => split.sentences[s]);
    const rows0 = rowStart[sentencesDone];
    const rows1 = rowStart[end];
    const out = layers.map(() => new Float32Array((rows1 - rows0) * dim));
    let pos = sentencesDone;
    for await (const vec of req.encoder.encode(sentences, layers)) {
      if (pos >= end) throw new Error(`encoder yielded more than ${sentences.length} sentences`);
      const s = sentenceOrder[pos];
      const nWords = split.sentences[s].length;
      for (let r = rowStart[pos]; r < rowStart[pos + 1]; r++) {
        const ex = split.examples[sel.examples[r]];
        const at = (r - rows0) * dim;
        for (let li = 0; li < layers.length; li++) {
          const words = vec.words[li];
          if (words.length !== nWords * hidden) {
            throw new Error(`encoder returned ${words.length / hidden} word vectors for sentence ${s} of ${nWords} words`);
          }
          const o = out[li];
          if (kind === "sentence") o.set(vec.cls[li], at);
          else {
            for (let t = 0; t < ex.targets.length; t++) {
              const w = ex.targets[t];
              if (!(w >= 0 && w < nWords)) throw new FtgeoError(`task ${req.task.name} split ${req.split}: example ${sel.examples[r]} targets word ${w} of a ${nWords}-word sentence`);
              o.set(words.subarray(w * hidden, (w + 1) * hidden), at + t * hidden);
            }
          }
        }
      }
      pos++;
    }
    if (pos !== end) throw new Error(`encoder yielded ${pos - sentencesDone} sentences for ${sentences.length}`);
    for (let li = 0; li < layers.length; li++) {
      writers[li].append(out[li]);
      writers[li].sync();
    }
    storeStats.sentencesEncoded += sentences.length;
    sentencesDone = end;
    rowsDone = rows1;
    writeJsonAtomic(progressFile, {
      checkpointId: req.encoder.id,
      examplesHash: sel.hash,
      layers,
      rows: rowsDone,
      sentencesDone,
      seconds: priorSeconds + (Date.now() - tPass) / 1000,
    } satisfies PassProgress);
    progress.update(sentencesDone, sentences.length, { examples: rowsDone });
  }
  const seconds = priorSeconds + (Date.now() - tPass) / 1000;
  progress.finish(sentencesDone, { examples: rowsDone });

  // Labels and index are cheap: rewrite them from the selection.
  const split2 = req.task.splits[req.split];
  const labels = Int32Array.from(sel.examples, (i) => split2.examples[i].label);
  writeNpy(path.join(dir, "labels.npy.partial"), labels, [n]);
  fs.renameSync(path.join(dir, "labels.npy.partial"), path.join(dir, "labels.npy"));
  writeNpy(path.join(dir, "index.npy.partial"), sel.examples, [n]);
  fs.renameSync(path.join(dir, "index.npy.partial"), path.join(dir, "index.npy"));

  const layerRecords: RepsManifest["layers"] = {};
  if (keep) Object.assign(layerRecords, keep.layers);
  for (let li = 0; li < layers.length; li++) {
    writers[li].finish();
    const name = `layer-${layers[li]}.npy`;
    fs.renameSync(partial(layers[li]), path.join(dir, name));
    layerRecords[String(layers[li])] = { ...recordFile(dir, name), shape: [n, dim], seconds };
  }
  // Keep only layers whose files are still the recorded ones (a rewrite above replaces its record).
  const manifest: RepsManifest = {
    format: "ftgeo-reps/1",
    checkpointId: req.encoder.id,
    task: req.task.name,
    kind,
    split: req.split,
    subset: sel.subset,
    examplesHash: sel.hash,
    n,
    hidden,
    dim,
    numLayers: req.encoder.numLayers,
    labelNames: req.task.labels,
    labels: recordFile(dir, "labels.npy"),
    index: recordFile(dir, "index.npy"),
    layers: layerRecords,
  };
  writeJsonAtomic(path.join(dir, "manifest.json"), manifest);
  fs.rmSync(progressFile, { force: true });
  return manifest;
}

/** Load one stored layer (checked against the manifest's record). */
export function loadLayer(entry: Pick<RepsEntry, "dir" | "manifest">, layer: number): LayerData {
  const rec = entry.manifest.layers[String(layer)];
  if (!rec) throw argError("layer", `layer ${layer} is not stored in ${entry.dir} (stored: ${Object.keys(entry.manifest.layers).join(", ")})`);
  const file = path.join(entry.dir, rec.file);
  const h = readNpyHeader(file);
  if (h.shape[0] !== entry.manifest.n || h.shape[1] !== entry.manifest.dim) {
    throw fileError(file, undefined, `shape [${h.shape}] does not match the manifest [${entry.manifest.n}, ${entry.manifest.dim}]`);
  }
  const a = readNpyFloat32(file);
  storeStats.layerReads++;
  return {
    n: entry.manifest.n,
    dim: entry.manifest.dim,
    data: a.data,
    labels: readNpyInt32(path.join(entry.dir, entry.manifest.labels.file)).data,
    index: readNpyInt32(path.join(entry.dir, entry.manifest.index.file)).data,
  };
}

/** Rows of one stored layer (e.g. a few examples for a plot) without loading the whole layer. */
export function loadLayerRows(entry: Pick<RepsEntry, "dir" | "manifest">, layer: number, rows: ArrayLike<number>): Float32Array {
  const rec = entry.manifest.layers[String(layer)];
  if (!rec) throw argError("layer", `layer ${layer} is not stored in ${entry.dir}`);
  return readNpyRowsAt(path.join(entry.dir, rec.file), rows).data;
}

/** One layer's vectors and labels, extracting (all requested layers, default all) first if needed. */
export async function getLayer(req: RepsRequest, layer: number): Promise<LayerData & { entry: RepsEntry }> {
  // Default: every layer in one pass (the encoder computes them all anyway), so probing layer after layer reads.
  const entry = await ensureReps({ ...req, layers: req.layers ? [...new Set([...req.layers, layer])] : undefined });
  return { ...loadLayer(entry, layer), entry };
}
