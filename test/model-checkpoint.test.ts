/**
 * Checkpoint readers and writers against the committed fixture (written by PyTorch and by a hand-written
 * safetensors writer in scripts/make_tiny_bert_fixture.py), and every error a bad file should produce.
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import {
  FloatTensorMap, readSafetensors, readSafetensorsHeader, writeSafetensors, f32ToF16, f16ToF32, f32ToBf16,
} from "../lib/model/safetensors";
import { readPytorchBin, readTorchFile } from "../lib/model/pytorch-bin";
import { unpickle } from "../lib/model/pickle";
import { ZipReader } from "../lib/model/zip";
import { loadCheckpoint, normalizeTensorName, countVocabLines } from "../lib/model/checkpoint";
import { FtgeoError } from "../lib/util/errors";

const FIXTURE = path.join(__dirname, "..", "..", "test", "fixtures", "tiny-bert");
const fx = (f: string) => path.join(FIXTURE, f);

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "ftgeo-ck-"));
}

/** A model folder in a temp dir: the fixture's config and vocab plus the given weights file(s). */
function folderWith(files: Record<string, Buffer | string>, base: string[] = ["config.json", "vocab.txt"]): string {
  const d = tmpDir();
  for (const f of base) fs.copyFileSync(fx(f), path.join(d, f));
  for (const [name, data] of Object.entries(files)) fs.writeFileSync(path.join(d, name), data);
  return d;
}

/** Build a safetensors file by hand (for malformed headers the writer would refuse to produce). */
function rawSafetensors(header: unknown, data: Buffer): Buffer {
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, data]);
}

function assertSameTensors(a: FloatTensorMap, b: FloatTensorMap): void {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  for (const [k, t] of a) {
    const u = b.get(k)!;
    assert.deepEqual(u.shape, t.shape, k);
    assert.ok(Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength).equals(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)), `${k} differs`);
  }
}

test("safetensors, torch zip .bin and legacy .bin of the fixture hold identical tensors; int64 buffers are skipped", () => {
  const st = readSafetensors(fx("model.safetensors"));
  const zip = readPytorchBin(fx("pytorch_model.bin"));
  const legacy = readPytorchBin(fx("variants/pytorch_model-legacy.bin"));
  assert.equal(zip.format, "zip");
  assert.equal(legacy.format, "legacy");
  for (const r of [st, zip, legacy]) assert.deepEqual(r.skipped, ["embeddings.position_ids"]);
  assert.equal(st.tensors.size, 5 + 2 * 16 + 2);
  assert.deepEqual(st.metadata, { format: "pt" });
  assertSameTensors(st.tensors, zip.tensors);
  assertSameTensors(st.tensors, legacy.tensors);
  assert.deepEqual(st.tensors.get("encoder.layer.1.intermediate.dense.weight")!.shape, [37, 32]);
});

test("torch views: transposed, sliced, expanded, shared storages, every dtype, 0-d and empty tensors", () => {
  const r = readTorchFile(fx("variants/views.bin"));
  const expected = JSON.parse(fs.readFileSync(fx("variants/views.json"), "utf8")) as Record<string, { shape: number[]; dtype: string; values: number[] }>;
  assert.deepEqual([...r.tensors.keys()], Object.keys(expected));
  const dtypes: Record<string, string> = { float32: "F32", float16: "F16", bfloat16: "BF16", float64: "F64", int64: "I64", int32: "I32" };
  for (const [name, e] of Object.entries(expected)) {
    const t = r.tensors.get(name)!;
    assert.deepEqual(t.shape, e.shape, name);
    assert.equal(t.dtype, dtypes[e.dtype], name);
    // f16/bf16 widen exactly, so every value equals torch's float64 view of it
    assert.deepEqual(Array.from(t.values as ArrayLike<number | bigint>, Number), e.values, name);
  }
});

test("float16/bfloat16 rounding equals torch's (bit-identical to the files torch's .half()/.bfloat16() wrote)", () => {
  const f32 = readSafetensors(fx("model.safetensors")).tensors;
  const hdr16 = readSafetensorsHeader(fx("variants/model-f16.safetensors"));
  const hdrbf = readSafetensorsHeader(fx("variants/model-bf16.safetensors"));
  const bytes16 = fs.readFileSync(fx("variants/model-f16.safetensors"));
  const bytesbf = fs.readFileSync(fx("variants/model-bf16.safetensors"));
  for (const [hdr, bytes, conv] of [[hdr16, bytes16, (a: Float32Array, n: string) => f32ToF16(a, n)], [hdrbf, bytesbf, (a: Float32Array) => f32ToBf16(a)]] as const) {
    for (const e of hdr.entries) {
      const ours = conv(f32.get(e.name)!.data, e.name);
      const theirs = new Uint16Array(Uint8Array.from(bytes.subarray(e.begin, e.end)).buffer);
      assert.deepEqual(ours, theirs, e.name);
    }
  }
  // edge cases against closed forms: subnormals, the largest half, round-to-even ties, overflow refused
  const x = new Float32Array([2 ** -24, 2 ** -25, 3 * 2 ** -25, 5 * 2 ** -25, 3 * 2 ** -26, 65504, 1 + 2 ** -11, 1 + 3 * 2 ** -11, -0, 2 ** -14]);
  assert.deepEqual(Array.from(f32ToF16(x, "x")), [0x0001, 0x0000, 0x0002, 0x0002, 0x0001, 0x7bff, 0x3c00, 0x3c02, 0x8000, 0x0400]);
  assert.deepEqual(Array.from(f16ToF32(f32ToF16(x, "x"))), [2 ** -24, 0, 2 ** -23, 2 ** -23, 2 ** -24, 65504, 1, 1 + 2 ** -9, -0, 2 ** -14]);
  assert.throws(() => f32ToF16(new Float32Array([65520]), "big"), /argument big: value 65520 at index 0 rounds outside the float16 range/);
  assert.throws(() => f32ToF16(new Float32Array([1, -1e6]), "big"), /argument big: value -1000000 at index 1 is outside the float16 range/);
});

test("f16 and bf16 safetensors widen to float32 within half-precision rounding of the f32 weights", () => {
  const f32 = readSafetensors(fx("model.safetensors")).tensors;
  for (const [file, rel] of [["variants/model-f16.safetensors", 2 ** -11], ["variants/model-bf16.safetensors", 2 ** -8]] as const) {
    const h = readSafetensors(fx(file));
    assert.equal(h.tensors.size, f32.size);
    for (const [k, t] of f32) {
      const u = h.tensors.get(k)!.data;
      for (let i = 0; i < t.data.length; i++) assert.ok(Math.abs(u[i] - t.data[i]) <= rel * Math.abs(t.data[i]) + 1e-7, `${file} ${k}[${i}]`);
    }
  }
});

test("writeSafetensors: F32 round trip is exact; F16 output is byte-identical to the Python-written file", () => {
  const d = tmpDir();
  const src = readSafetensors(fx("model.safetensors")).tensors;
  writeSafetensors(path.join(d, "a.safetensors"), src);
  const back = readSafetensors(path.join(d, "a.safetensors"));
  assertSameTensors(src, back.tensors);
  assert.equal(back.metadata.format, "pt");
  writeSafetensors(path.join(d, "h.safetensors"), src, { dtype: "F16" });
  assert.ok(fs.readFileSync(path.join(d, "h.safetensors")).equals(fs.readFileSync(fx("variants/model-f16.safetensors"))));
  assert.throws(() => writeSafetensors(path.join(d, "bad.safetensors"), new Map([["t", { shape: [2, 2], data: new Float32Array(3) }]])), /shape \[2, 2\] has 4 elements but data has 3/);
  assert.ok(!fs.readdirSync(d).some((f) => f.includes(".tmp-")));
  fs.rmSync(d, { recursive: true });
});

test("bad safetensors files: each problem named with the file and the tensor", () => {
  const d = tmpDir();
  const write = (name: string, b: Buffer) => {
    const p = path.join(d, name);
    fs.writeFileSync(p, b);
    return p;
  };
  const good = fs.readFileSync(fx("model.safetensors"));
  const truncated = write("trunc.safetensors", good.subarray(0, good.length - 100));
  assert.throws(() => readSafetensors(truncated), (e: Error) => e instanceof FtgeoError && e.message.startsWith(truncated) && /tensor "pooler\.dense\.weight": data ends at byte \d+ but the file has \d+ bytes \(truncated file\)/.test(e.message));
  const headerBeyond = write("hb.safetensors", Buffer.concat([Buffer.from([0xff, 0xff, 0, 0, 0, 0, 0, 0]), Buffer.from("{}")]));
  assert.throws(() => readSafetensors(headerBeyond), /header length 65535 runs beyond the end of the file \(10 bytes\)/);
  assert.throws(() => readSafetensors(write("tiny.safetensors", Buffer.from([1, 2]))), /2 bytes, shorter than the 8-byte header length/);
  const data = Buffer.alloc(32);
  const overlap = write("ov.safetensors", rawSafetensors({ a: { dtype: "F32", shape: [4], data_offsets: [0, 16] }, b: { dtype: "F32", shape: [4], data_offsets: [8, 24] } }, data));
  assert.throws(() => readSafetensors(overlap), /tensors "a" \(bytes \d+-\d+\) and "b" \(bytes \d+-\d+\) overlap/);
  const mismatch = write("mm.safetensors", rawSafetensors({ w: { dtype: "F16", shape: [3, 4], data_offsets: [0, 32] } }, data));
  assert.throws(() => readSafetensors(mismatch), /tensor "w": 32 bytes in data_offsets, but dtype F16 and shape \[3, 4\] need 24/);
  const dtype = write("dt.safetensors", rawSafetensors({ w: { dtype: "F8_E4M3", shape: [4], data_offsets: [0, 4] } }, data));
  assert.throws(() => readSafetensors(dtype), /tensor "w": unsupported dtype "F8_E4M3"/);
  const notJson = write("nj.safetensors", Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from("{no}")]));
  assert.throws(() => readSafetensors(notJson), /header is not valid JSON/);
  const beyond = write("be.safetensors", rawSafetensors({ w: { dtype: "F32", shape: [16], data_offsets: [0, 64] } }, data));
  assert.throws(() => readSafetensors(beyond), /tensor "w": data ends at byte \d+ but the file has \d+ bytes/);
  fs.rmSync(d, { recursive: true });
});

test("bad PyTorch files: truncated, corrupted storage, foreign pickles and unknown opcodes", () => {
  const d = tmpDir();
  const write = (name: string, b: Buffer) => {
    const p = path.join(d, name);
    fs.writeFileSync(p, b);
    return p;
  };
  const good = fs.readFileSync(fx("pytorch_model.bin"));
  assert.throws(() => readPytorchBin(write("half.bin", good.subarray(0, good.length >> 1))), /half\.bin: no zip end-of-central-directory record: truncated or not a zip archive/);
  // flip one byte inside the largest storage (the word embeddings): the CRC-32 catches it
  const corrupt = Buffer.from(good);
  corrupt[good.length >> 1] ^= 0x01;
  assert.throws(() => readPytorchBin(write("crc.bin", corrupt)), /crc\.bin: zip entry "pytorch_model\/data\/\d+" fails its CRC-32 check/);
  const legacy = fs.readFileSync(fx("variants/pytorch_model-legacy.bin"));
  assert.throws(() => readPytorchBin(write("legacy-trunc.bin", legacy.subarray(0, legacy.length - 64))), /legacy-trunc\.bin: legacy checkpoint: storage \S+ needs bytes up to \d+, the file has \d+ \(truncated file\)/);
  // a pickle that would call os.system in Python: refused, nothing is executed
  const evil = Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.from("cposix\nsystem\nq\x00X\x02\x00\x00\x00lsq\x01\x85q\x02Rq\x03.", "latin1")]);
  assert.throws(() => readTorchFile(write("evil.bin", evil)), /evil\.bin: pickle at byte \d+: global posix\.system is not allowed/);
  assert.throws(() => unpickle(Buffer.from([0x80, 0x02, 0xff]), { resolveGlobal: () => undefined, persistentLoad: () => null }, "x.pkl"), /x\.pkl: pickle at byte 2: unsupported pickle opcode 0xff/);
  assert.throws(() => readTorchFile(write("text.bin", Buffer.from("hello world, not a checkpoint"))), /not a PyTorch checkpoint/);
  fs.rmSync(d, { recursive: true });
});

test("deflated and zip64 archives are read too (torch writes stored entries, re-zipped archives may not)", () => {
  // Re-pack the fixture's archive with deflate, using a minimal zip writer (local headers + central directory).
  const zr = ZipReader.open(fx("pytorch_model.bin"));
  const files = [...zr.entries.keys()].map((name) => ({ name, data: zr.read(name) }));
  zr.close();
  const d = tmpDir();
  const out = path.join(d, "deflated.bin");
  fs.writeFileSync(out, writeDeflatedZip(files, false));
  assertSameTensors(readPytorchBin(out).tensors, readPytorchBin(fx("pytorch_model.bin")).tensors);
  // the same archive with zip64 records (as written for archives over 4 GiB): sizes and offsets in the extra field
  const out64 = path.join(d, "zip64.bin");
  fs.writeFileSync(out64, writeDeflatedZip(files, true));
  assertSameTensors(readPytorchBin(out64).tensors, readPytorchBin(fx("pytorch_model.bin")).tensors);
  fs.rmSync(d, { recursive: true });
});

test("names: 'bert.' prefixes and gamma/beta LayerNorm names map to BertModel names; same content hash", async () => {
  assert.equal(normalizeTensorName("bert.encoder.layer.0.output.LayerNorm.gamma"), "encoder.layer.0.output.LayerNorm.weight");
  assert.equal(normalizeTensorName("bert.embeddings.LayerNorm.beta"), "embeddings.LayerNorm.bias");
  assert.equal(normalizeTensorName("cls.predictions.bias"), "cls.predictions.bias");
  const src = readSafetensors(fx("model.safetensors")).tensors;
  const renamed: FloatTensorMap = new Map();
  for (const [k, t] of src) renamed.set(`bert.${k.replace(/LayerNorm\.weight$/, "LayerNorm.gamma").replace(/LayerNorm\.bias$/, "LayerNorm.beta")}`, t);
  renamed.set("cls.predictions.bias", { shape: [540], data: new Float32Array(540) });
  const d = folderWith({});
  writeSafetensors(path.join(d, "model.safetensors"), renamed);
  const ck = await loadCheckpoint(d);
  const ref = await loadCheckpoint(FIXTURE);
  assert.equal(ck.contentHash, ref.contentHash);
  assert.deepEqual([...ck.extra.keys()], ["cls.predictions.bias"]);
  fs.rmSync(d, { recursive: true });
});

test("loadCheckpoint: the same weights from safetensors, .bin and legacy .bin give the same content hash", async () => {
  const a = await loadCheckpoint(FIXTURE);
  const b = await loadCheckpoint(FIXTURE, { weights: "bin" });
  const c = await loadCheckpoint(FIXTURE, { weights: "variants/pytorch_model-legacy.bin" });
  const h = await loadCheckpoint(FIXTURE, { weights: "variants/model-f16.safetensors" });
  assert.equal(path.basename(a.weightsFiles[0]), "model.safetensors");
  assert.equal(path.basename(b.weightsFiles[0]), "pytorch_model.bin");
  assert.match(a.contentHash, /^[0-9a-f]{64}$/);
  assert.equal(a.contentHash, b.contentHash);
  assert.equal(a.contentHash, c.contentHash);
  assert.notEqual(a.contentHash, h.contentHash);
  assert.equal(a.vocabPath, fx("vocab.txt"));
  assert.equal(countVocabLines(fx("vocab.txt")), a.config.vocab_size);
});

test("loadCheckpoint: sharded safetensors (model.safetensors.index.json)", async () => {
  const src = readSafetensors(fx("model.safetensors")).tensors;
  const d = folderWith({});
  const part1: FloatTensorMap = new Map();
  const part2: FloatTensorMap = new Map();
  const weightMap: Record<string, string> = {};
  for (const [k, t] of src) {
    const first = k.startsWith("embeddings.") || k.startsWith("encoder.layer.0.");
    (first ? part1 : part2).set(k, t);
    weightMap[k] = first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
  }
  writeSafetensors(path.join(d, "model-00001-of-00002.safetensors"), part1);
  writeSafetensors(path.join(d, "model-00002-of-00002.safetensors"), part2);
  fs.writeFileSync(path.join(d, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  const ck = await loadCheckpoint(d);
  assert.equal(ck.weightsFiles.length, 2);
  assert.equal(ck.contentHash, (await loadCheckpoint(FIXTURE)).contentHash);
  fs.rmSync(d, { recursive: true });
});

test("loadCheckpoint errors: missing/wrong-shape/extra-layer tensors, truncated weights, bad config, vocab mismatch", async () => {
  const src = readSafetensors(fx("model.safetensors")).tensors;
  const withTensors = (m: FloatTensorMap) => {
    const d = folderWith({});
    writeSafetensors(path.join(d, "model.safetensors"), m);
    return d;
  };
  const dirs: string[] = [];
  const check = async (d: string, re: RegExp) => {
    dirs.push(d);
    await assert.rejects(loadCheckpoint(d), (e: Error) => {
      assert.ok(e instanceof FtgeoError, String(e));
      assert.match(e.message, re);
      return true;
    });
  };
  const missing = new Map(src);
  missing.delete("encoder.layer.1.attention.self.key.bias");
  await check(withTensors(missing), /model\.safetensors: 1 tensor\(s\) of a 2-layer BERT are missing: encoder\.layer\.1\.attention\.self\.key\.bias/);
  const wrong = new Map(src);
  wrong.set("encoder.layer.0.intermediate.dense.weight", { shape: [32, 37], data: src.get("encoder.layer.0.intermediate.dense.weight")!.data });
  await check(withTensors(wrong), /tensor "encoder\.layer\.0\.intermediate\.dense\.weight" has shape \[32, 37\], but config\.json .* needs \[37, 32\]/);
  const extraLayer = new Map(src);
  extraLayer.set("encoder.layer.2.output.dense.bias", { shape: [32], data: new Float32Array(32) });
  await check(withTensors(extraLayer), /tensor "encoder\.layer\.2\.output\.dense\.bias" is beyond num_hidden_layers 2/);
  const st = fs.readFileSync(fx("model.safetensors"));
  await check(folderWith({ "model.safetensors": st.subarray(0, st.length - 1) }), /truncated file/);
  const bin = fs.readFileSync(fx("pytorch_model.bin"));
  await check(folderWith({ "pytorch_model.bin": bin.subarray(0, bin.length - 200) }), /pytorch_model\.bin: .*truncated/);
  const cfg = JSON.parse(fs.readFileSync(fx("config.json"), "utf8"));
  await check(folderWith({ "config.json": JSON.stringify({ ...cfg, num_attention_heads: 5 }), "model.safetensors": st }, ["vocab.txt"]), /config\.json: field "hidden_size" \(32\) must be a multiple of "num_attention_heads" \(5\)/);
  await check(folderWith({ "config.json": "{ not json", "model.safetensors": st }, ["vocab.txt"]), /config\.json: config\.json is not valid JSON/);
  await check(folderWith({ "config.json": JSON.stringify({ ...cfg, vocab_size: 541 }), "model.safetensors": st }, ["vocab.txt"]), /vocab\.txt: 540 tokens, but .*config\.json says vocab_size 541/);
  await check(folderWith({ "model.safetensors": st }, ["vocab.txt"]), /not a model folder: config\.json is missing/);
  await check(folderWith({ "model.safetensors": st }, ["config.json"]), /vocab\.txt is missing/);
  await check(folderWith({}), /no weights file: expected model\.safetensors or pytorch_model\.bin/);
  for (const d of dirs) fs.rmSync(d, { recursive: true });
});

// --- a minimal zip writer for the deflate test ------------------------------------------------------------

function writeDeflatedZip(files: { name: string; data: Buffer }[], zip64: boolean): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  const SAT = 0xffffffff;
  for (const f of files) {
    const comp = zlib.deflateRawSync(f.data);
    const name = Buffer.from(f.name);
    const crc = zlib.crc32(f.data) >>> 0;
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt16LE(8, 8);
    lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(comp.length, 18);
    lh.writeUInt32LE(f.data.length, 22);
    lh.writeUInt16LE(name.length, 26);
    const extra = Buffer.alloc(zip64 ? 28 : 0);
    if (zip64) {
      extra.writeUInt16LE(0x0001, 0);
      extra.writeUInt16LE(24, 2);
      extra.writeBigUInt64LE(BigInt(f.data.length), 4);
      extra.writeBigUInt64LE(BigInt(comp.length), 12);
      extra.writeBigUInt64LE(BigInt(offset), 20);
    }
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(45, 4);
    ch.writeUInt16LE(45, 6);
    ch.writeUInt16LE(8, 10);
    ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(zip64 ? SAT : comp.length, 20);
    ch.writeUInt32LE(zip64 ? SAT : f.data.length, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt16LE(extra.length, 30);
    ch.writeUInt32LE(zip64 ? SAT : offset, 42);
    parts.push(lh, name, comp);
    central.push(ch, name, extra);
    offset += 30 + name.length + comp.length;
  }
  const cd = Buffer.concat(central);
  const tail: Buffer[] = [];
  if (zip64) {
    const z = Buffer.alloc(56);
    z.writeUInt32LE(0x06064b50, 0);
    z.writeBigUInt64LE(44n, 4);
    z.writeUInt16LE(45, 12);
    z.writeUInt16LE(45, 14);
    z.writeBigUInt64LE(BigInt(files.length), 24);
    z.writeBigUInt64LE(BigInt(files.length), 32);
    z.writeBigUInt64LE(BigInt(cd.length), 40);
    z.writeBigUInt64LE(BigInt(offset), 48);
    const loc = Buffer.alloc(20);
    loc.writeUInt32LE(0x07064b50, 0);
    loc.writeBigUInt64LE(BigInt(offset + cd.length), 8);
    loc.writeUInt32LE(1, 16);
    tail.push(z, loc);
  }
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(zip64 ? 0xffff : files.length, 8);
  eocd.writeUInt16LE(zip64 ? 0xffff : files.length, 10);
  eocd.writeUInt32LE(zip64 ? SAT : cd.length, 12);
  eocd.writeUInt32LE(zip64 ? SAT : offset, 16);
  return Buffer.concat([...parts, cd, ...tail, eocd]);
}
