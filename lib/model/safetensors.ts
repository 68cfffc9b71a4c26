/**
 * The safetensors format (Hugging Face): u64 little-endian header length N, N bytes of JSON
 * {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}, then the raw little-endian
 * tensor bytes, offsets relative to the end of the header.
 *
 * Reading goes tensor by tensor through a file descriptor (never the whole file in one Buffer), because Node
 * Buffers stop at 4 GiB and one fs.read at 2 GiB. Float tensors (F32, F16, BF16, F64) are returned as Float32Array;
 * integer tensors (checkpoint buffers such as embeddings.position_ids) are listed as skipped.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FtgeoError, argError, fileError } from "../util/errors";

/** A float tensor in row-major order: what BertModel.fromTensors / toTensors exchange (NamedTensors in bert.ts). */
export interface FloatTensor {
  shape: number[];
  data: Float32Array;
}
export type FloatTensorMap = Map<string, FloatTensor>;

export type StDtype = "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

export const ST_DTYPE_BYTES: Record<StDtype, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};
const FLOAT_DTYPES = new Set<StDtype>(["F64", "F32", "F16", "BF16"]);

export function isFloatDtype(d: StDtype): boolean {
  return FLOAT_DTYPES.has(d);
}

if (os.endianness() !== "LE") {
  // Every decoder below views file bytes as host-order typed arrays.
  throw new FtgeoError("lib/model/safetensors: big-endian hosts are not supported");
}

// ---------------------------------------------------------------------------------------------------------------
// float16 / bfloat16 <-> float32

const f16Table = (() => {
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    if (e === 0) t[h] = s * m * 2 ** -24;
    else if (e === 31) t[h] = m === 0 ? s * Infinity : NaN;
    else t[h] = s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return t;
})();

/** Exact widening of IEEE half-precision bits. */
export function f16ToF32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = f16Table[bits[i]];
  return out;
}

/** Exact widening of bfloat16 bits (the top half of a float32). */
export function bf16ToF32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const u = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) u[i] = bits[i] << 16;
  return out;
}

/**
 * float32 -> IEEE half, round to nearest even (what torch's .half() does). Values beyond the half range
 * (|x| > 65504 after rounding) are an error rather than a silent infinity: `what` names the tensor.
 */
export function f32ToF16(src: Float32Array, what: string): Uint16Array {
  const out = new Uint16Array(src.length);
  const u = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) {
    const x = u[i];
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 : 0); // inf stays inf, NaN stays NaN
      continue;
    }
    const e = exp - 127 + 15;
    if (e >= 31) throw argError(what, `value ${src[i]} at index ${i} is outside the float16 range (|x| <= 65504)`);
    if (e <= 0) {
      // subnormal half (or zero): shift the implicit-1 mantissa into place, round to nearest even
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      mant |= 0x800000;
      const shift = 14 - e;
      const half = 1 << (shift - 1);
      const rest = mant & ((1 << shift) - 1);
      let h = mant >>> shift;
      if (rest > half || (rest === half && (h & 1))) h++;
      out[i] = sign | h;
      continue;
    }
    let h = (e << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++; // may carry into the exponent: still correct
    if (h >= 0x7c00) throw argError(what, `value ${src[i]} at index ${i} rounds outside the float16 range (|x| <= 65504)`);
    out[i] = sign | h;
  }
  return out;
}

/** float32 -> bfloat16, round to nearest even (NaN kept as a quiet NaN). */
export function f32ToBf16(src: Float32Array): Uint16Array {
  const out = new Uint16Array(src.length);
  const u = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) {
    const x = u[i];
    if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) {
      out[i] = (x >>> 16) | 0x40;
      continue;
    }
    out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
  return out;
}

/** Decode little-endian bytes of a float dtype into float32 (F64 narrowed, F16/BF16 widened exactly). */
export function decodeFloat(dtype: StDtype, bytes: Uint8Array, count: number): Float32Array {
  const aligned = (n: number) => (bytes.byteOffset % n === 0 ? bytes : new Uint8Array(bytes));
  switch (dtype) {
    case "F32": {
      const b = aligned(4);
      return new Float32Array(b.buffer, b.byteOffset, count);
    }
    case "F64": {
      const b = aligned(8);
      return Float32Array.from(new Float64Array(b.buffer, b.byteOffset, count));
    }
    case "F16": {
      const b = aligned(2);
      return f16ToF32(new Uint16Array(b.buffer, b.byteOffset, count));
    }
    case "BF16": {
      const b = aligned(2);
      return bf16ToF32(new Uint16Array(b.buffer, b.byteOffset, count));
    }
    default:
      throw new FtgeoError(`decodeFloat: ${dtype} is not a float dtype`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// reading

export interface SafetensorsEntry {
  name: string;
  dtype: StDtype;
  shape: number[];
  /** Absolute byte range in the file. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  file: string;
  fileSize: number;
  metadata: Record<string, string>;
  /** In file order. */
  entries: SafetensorsEntry[];
}

/** Header JSON larger than this is refused (the reference implementation's limit is 100 MB). */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;
/** One fs.read is capped at 2 GiB; stay well below it. */
const READ_CHUNK = 1 << 30;

export function readExactly(fd: number, file: string, target: Uint8Array, position: number, what: string): void {
  let done = 0;
  while (done < target.length) {
    const n = fs.readSync(fd, target, done, Math.min(READ_CHUNK, target.length - done), position + done);
    if (n === 0) {
      throw fileError(file, undefined, `${what}: file ends at byte ${position + done}, expected ${target.length - done} more bytes (truncated file?)`);
    }
    done += n;
  }
}

function numel(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Parse and validate the header: every later read is checked against it before any tensor byte is read. */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  const fd = openForRead(file);
  try {
    return parseHeader(fd, file);
  } finally {
    fs.closeSync(fd);
  }
}

function openForRead(file: string): number {
  try {
    return fs.openSync(file, "r");
  } catch (e) {
    throw fileError(file, undefined, `cannot open safetensors file: ${(e as Error).message}`);
  }
}

function parseHeader(fd: number, file: string): SafetensorsHeader {
  const fileSize = fs.fstatSync(fd).size;
  if (fileSize < 8) throw fileError(file, undefined, `not a safetensors file: ${fileSize} bytes, shorter than the 8-byte header length (truncated?)`);
  const lenBuf = Buffer.alloc(8);
  readExactly(fd, file, lenBuf, 0, "header length");
  const headerLen = lenBuf.readBigUInt64LE(0);
  if (headerLen > BigInt(fileSize - 8)) {
    throw fileError(file, undefined, `header length ${headerLen} runs beyond the end of the file (${fileSize} bytes): truncated or not a safetensors file`);
  }
  if (headerLen > BigInt(MAX_HEADER_BYTES)) throw fileError(file, undefined, `header length ${headerLen} exceeds ${MAX_HEADER_BYTES} bytes`);
  const n = Number(headerLen);
  const hb = Buffer.alloc(n);
  readExactly(fd, file, hb, 8, "header");
  let raw: unknown;
  try {
    raw = JSON.parse(hb.toString("utf8"));
  } catch (e) {
    throw fileError(file, undefined, `header is not valid JSON (${(e as Error).message}): not a safetensors file?`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw fileError(file, undefined, "header is not a JSON object");
  const dataStart = 8 + n;
  const metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, v] of Object.entries(raw as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof v !== "object" || v === null) throw fileError(file, undefined, `__metadata__ must be an object of strings`);
      for (const [k, s] of Object.entries(v as Record<string, unknown>)) metadata[k] = String(s);
      continue;
    }
    const bad = (p: string) => fileError(file, undefined, `tensor "${name}": ${p}`);
    if (typeof v !== "object" || v === null) throw bad("entry is not an object");
    const { dtype, shape, data_offsets } = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== "string" || !(dtype in ST_DTYPE_BYTES)) {
      throw bad(`unsupported dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(ST_DTYPE_BYTES).join(", ")})`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw bad(`shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    if (!Array.isArray(data_offsets) || data_offsets.length !== 2 || !data_offsets.every((d) => Number.isSafeInteger(d) && d >= 0) || data_offsets[1] < data_offsets[0]) {
      throw bad(`data_offsets ${JSON.stringify(data_offsets)} is not [begin, end] with 0 <= begin <= end`);
    }
    const d = dtype as StDtype;
    const expected = numel(shape as number[]) * ST_DTYPE_BYTES[d];
    const got = data_offsets[1] - data_offsets[0];
    if (got !== expected) throw bad(`${got} bytes in data_offsets, but dtype ${d} and shape [${shape.join(", ")}] need ${expected}`);
    const begin = dataStart + data_offsets[0];
    const end = dataStart + data_offsets[1];
    if (end > fileSize) throw bad(`data ends at byte ${end} but the file has ${fileSize} bytes (truncated file)`);
    entries.push({ name, dtype: d, shape: shape as number[], begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < entries.length; i++) {
    const p = entries[i - 1];
    const c = entries[i];
    if (c.begin < p.end) throw fileError(file, undefined, `tensors "${p.name}" (bytes ${p.begin}-${p.end}) and "${c.name}" (bytes ${c.begin}-${c.end}) overlap`);
  }
  return { file, fileSize, metadata, entries };
}

/** Read one tensor's raw bytes (a fresh, 8-byte aligned buffer). */
export function readEntryBytes(fd: number, header: SafetensorsHeader, e: SafetensorsEntry): Uint8Array {
  const bytes = new Uint8Array(new ArrayBuffer(e.end - e.begin));
  readExactly(fd, header.file, bytes, e.begin, `tensor "${e.name}"`);
  return bytes;
}

export interface ReadSafetensorsResult {
  tensors: FloatTensorMap;
  /** Non-float tensors (e.g. int64 position_ids buffers), not returned. */
  skipped: string[];
  metadata: Record<string, string>;
}

/** Read every float tensor (or those `select` accepts) as float32. */
export function readSafetensors(file: string, select?: (name: string) => boolean): ReadSafetensorsResult {
  const fd = openForRead(file);
  try {
    const header = parseHeader(fd, file);
    const tensors: FloatTensorMap = new Map();
    const skipped: string[] = [];
    for (const e of header.entries) {
      if (select && !select(e.name)) continue;
      if (!isFloatDtype(e.dtype)) {
        skipped.push(e.name);
        continue;
      }
      const count = numel(e.shape);
      tensors.set(e.name, { shape: e.shape.slice(), data: decodeFloat(e.dtype, readEntryBytes(fd, header, e), count) });
    }
    return { tensors, skipped, metadata: header.metadata };
  } finally {
    fs.closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// writing

export interface WriteSafetensorsOptions {
  /** Storage dtype of float tensors: F32 (default, exact), F16 or BF16 (half the size). */
  dtype?: "F32" | "F16" | "BF16";
  /** Extra header metadata; {"format": "pt"} is always set (transformers requires it to load the file). */
  metadata?: Record<string, string>;
}

/**
 * Write tensors (names sorted, as the reference writer does for equal dtypes) to `file` atomically
 * (a temporary sibling renamed into place), one tensor at a time.
 */
export function writeSafetensors(file: string, tensors: FloatTensorMap, opts: WriteSafetensorsOptions = {}): void {
  const dtype = opts.dtype ?? "F32";
  if (!["F32", "F16", "BF16"].includes(dtype)) throw argError("dtype", `expected F32, F16 or BF16, got ${dtype}`);
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = { __metadata__: { ...(opts.metadata ?? {}), format: "pt" } };
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    const n = numel(t.shape);
    if (n !== t.data.length) throw argError(`tensors["${name}"]`, `shape [${t.shape.join(", ")}] has ${n} elements but data has ${t.data.length}`);
    const bytes = n * ST_DTYPE_BYTES[dtype];
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let hjson = Buffer.from(JSON.stringify(header), "utf8");
  const pad = (8 - (hjson.length % 8)) % 8;
  if (pad) hjson = Buffer.concat([hjson, Buffer.alloc(pad, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(hjson.length));

  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  const fd = fs.openSync(tmp, "w");
  try {
    writeAll(fd, len);
    writeAll(fd, hjson);
    for (const name of names) {
      const t = tensors.get(name)!;
      const data =
        dtype === "F32" ? t.data : dtype === "F16" ? f32ToF16(t.data, `tensors["${name}"]`) : f32ToBf16(t.data);
      writeAll(fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) {
    done += fs.writeSync(fd, bytes, done, Math.min(READ_CHUNK, bytes.length - done));
  }
}
