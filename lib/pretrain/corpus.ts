/**
 * The pretraining corpus as token shards: each gzip'd text file of the corpus (one paragraph per line, a blank line
 * between documents) is tokenized once into a little-endian uint16 file of token ids with [SEP] between documents.
 * Shards are written atomically one input file at a time, so an interrupted preparation resumes at the next file,
 * and training then reads random-access blocks instead of re-tokenizing gzip streams at every resume.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as readline from "node:readline";
import * as zlib from "node:zlib";
import * as crypto from "node:crypto";
import { BertTokenizer } from "../tokenize/wordpiece";
import { FtgeoError, fileError } from "../util/errors";
import { writeFileAtomic, writeJsonAtomic } from "../util/atomic";
import { Progress } from "../util/progress";

export interface ShardInfo {
  /** Corpus file, relative to the corpus folder. */
  source: string;
  /** Size and modification time of the source when tokenized: a changed source is re-tokenized. */
  sourceBytes: number;
  train: string;
  heldOut: string;
  trainTokens: number;
  heldOutTokens: number;
  documents: number;
}

export interface CorpusManifest {
  version: 1;
  corpus: string;
  vocabSha256: string;
  /** Every `heldOutEvery`-th document of each file goes to the held-out shard. */
  heldOutEvery: number;
  shards: ShardInfo[];
}

/** All *.txt.gz files below `dir`, in a stable (sorted) order. */
export function listCorpusFiles(dir: string): string[] {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new FtgeoError(`corpus folder ${dir} does not exist (expected a folder of *.txt.gz files)`);
  }
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".txt.gz")) out.push(p);
    }
  };
  walk(dir);
  if (out.length === 0) throw new FtgeoError(`corpus folder ${dir} holds no *.txt.gz files`);
  return out;
}

/** Documents of one gzip'd corpus file: arrays of paragraphs, split at blank lines. */
export async function* readDocuments(file: string): AsyncGenerator<string[]> {
  const input = fs.createReadStream(file).pipe(zlib.createGunzip());
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  let doc: string[] = [];
  try {
    for await (const line of lines) {
      if (line.trim() === "") {
        if (doc.length > 0) yield doc;
        doc = [];
      } else doc.push(line);
    }
  } catch (e) {
    throw fileError(file, undefined, `cannot read gzip'd text (${(e as Error).message}); expected a .txt.gz file`);
  }
  if (doc.length > 0) yield doc;
}

function sha256File(file: string): string {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

export function manifestPath(outDir: string): string {
  return path.join(outDir, "corpus.json");
}

export function readCorpusManifest(outDir: string): CorpusManifest | undefined {
  const f = manifestPath(outDir);
  if (!fs.existsSync(f)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(f, "utf8")) as CorpusManifest;
  } catch (e) {
    throw fileError(f, undefined, `corrupt corpus manifest (${(e as Error).message}); delete it to re-tokenize`);
  }
}

/**
 * Tokenize every file of `corpusDir` into `outDir` (skipping files already done with the same source size and
 * vocabulary). Returns the manifest.
 */
export async function prepareCorpus(
  corpusDir: string,
  outDir: string,
  tokenizer: BertTokenizer,
  vocabFile: string,
  opts: { heldOutEvery?: number; maxFiles?: number } = {},
): Promise<CorpusManifest> {
  const heldOutEvery = opts.heldOutEvery ?? 200;
  const vocabSha256 = sha256File(vocabFile);
  let files = listCorpusFiles(corpusDir);
  if (opts.maxFiles !== undefined) files = files.slice(0, opts.maxFiles);
  fs.mkdirSync(outDir, { recursive: true });
  const old = readCorpusManifest(outDir);
  const reusable = old && old.vocabSha256 === vocabSha256 && old.heldOutEvery === heldOutEvery ? old.shards : [];
  const manifest: CorpusManifest = { version: 1, corpus: path.resolve(corpusDir), vocabSha256, heldOutEvery, shards: [] };
  const progress = new Progress("tokenize corpus", files.length, "files");
  let i = 0;
  for (const file of files) {
    const rel = path.relative(corpusDir, file);
    const bytes = fs.statSync(file).size;
    const prev = reusable.find((s) => s.source === rel && s.sourceBytes === bytes);
    if (prev && fs.existsSync(path.join(outDir, prev.train)) && fs.existsSync(path.join(outDir, prev.heldOut))) {
      manifest.shards.push(prev);
    } else {
      manifest.shards.push(await tokenizeFile(file, rel, bytes, outDir, tokenizer, heldOutEvery));
      writeJsonAtomic(manifestPath(outDir), manifest); // an interrupted tokenization keeps the files done so far
    }
    progress.update(++i, 1, { tokens: manifest.shards.reduce((s, x) => s + x.trainTokens, 0) });
  }
  progress.finish(i);
  // Rewritten only when it changed: runs sharing the cache (two experiments started together) must not see a
  // half-rebuilt file list. Callers read tokens through the returned manifest, never through the file.
  if (JSON.stringify(old) !== JSON.stringify(manifest)) writeJsonAtomic(manifestPath(outDir), manifest);
  return manifest;
}

async function tokenizeFile(
  file: string,
  rel: string,
  bytes: number,
  outDir: string,
  tok: BertTokenizer,
  heldOutEvery: number,
): Promise<ShardInfo> {
  const train = new Growable();
  const held = new Growable();
  let documents = 0;
  for await (const doc of readDocuments(file)) {
    const target = documents % heldOutEvery === heldOutEvery - 1 ? held : train;
    for (const para of doc) {
      for (const id of tok.encode(para)) target.push(id);
    }
    target.push(tok.sepId);
    documents++;
  }
  const base = rel.replace(/[\\/]/g, "__").replace(/\.txt\.gz$/, "");
  const info: ShardInfo = {
    source: rel,
    sourceBytes: bytes,
    train: `${base}.train.u16`,
    heldOut: `${base}.heldout.u16`,
    trainTokens: train.length,
    heldOutTokens: held.length,
    documents,
  };
  writeFileAtomic(path.join(outDir, info.train), train.bytes());
  writeFileAtomic(path.join(outDir, info.heldOut), held.bytes());
  return info;
}

/** A growing uint16 buffer (vocabularies up to 65,536 entries; BERT's has 30,522). */
class Growable {
  private buf = new Uint16Array(1 << 20);
  length = 0;
  push(v: number): void {
    if (v > 0xffff) throw new FtgeoError(`token id ${v} does not fit the uint16 shard format (vocabulary too large)`);
    if (this.length === this.buf.length) {
      const next = new Uint16Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }
  bytes(): Uint8Array {
    const view = this.buf.subarray(0, this.length);
    // Shards are little-endian; so is every machine Node runs on in practice, but say so explicitly.
    if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new FtgeoError("big-endian machines are not supported");
    return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  }
}

/**
 * All train (or held-out) tokens of the prepared corpus, concatenated in manifest order: of `manifest` (what
 * prepareCorpus returned to this process), else of the corpus.json on disk.
 */
export function loadTokens(outDir: string, which: "train" | "heldOut", manifest?: CorpusManifest): Uint16Array {
  const m = manifest ?? readCorpusManifest(outDir);
  if (!m) throw new FtgeoError(`${outDir} has no corpus.json: prepare the corpus first`);
  const total = m.shards.reduce((s, x) => s + (which === "train" ? x.trainTokens : x.heldOutTokens), 0);
  const out = new Uint16Array(total);
  let at = 0;
  for (const s of m.shards) {
    const file = path.join(outDir, which === "train" ? s.train : s.heldOut);
    const n = which === "train" ? s.trainTokens : s.heldOutTokens;
    const buf = fs.readFileSync(file);
    if (buf.byteLength !== n * 2) {
      throw fileError(file, undefined, `expected ${n * 2} bytes (${n} tokens) as recorded in corpus.json, found ${buf.byteLength}; delete it to re-tokenize`);
    }
    out.set(new Uint16Array(buf.buffer, buf.byteOffset, n), at);
    at += n;
  }
  return out;
}
