/**
 * NumPy .npy files (format versions 1.0 / 2.0 / 3.0) holding little-endian, C-order 2-D (or 1-D) arrays of
 * float32 ('<f4') or int32 ('<i4'), the interchange format of the representation store: numpy, PyTorch and
 * sklearn read it directly. Reads and writes go through file descriptors in chunks, because a Node Buffer is
 * capped at 4 GiB and one fs.read at 2 GiB while a layer of BERT-base on DEP train is 1.2 GB.
 */
import * as fs from "node:fs";
import { fileError } from "../util/errors";

export type NpyDtype = "<f4" | "<i4";

export interface NpyHeader {
  dtype: NpyDtype;
  shape: number[];
  /** Byte offset of the first data byte. */
  dataOffset: number;
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // "\x93NUMPY"
/** Largest single read/write: well under the 2 GiB fs limit, large enough to be disk-bound. */
const IO_CHUNK = 64 * 1024 * 1024;

/** The header bytes of a version 1.0 file (version 2.0 when the dict does not fit in 65,535 bytes). */
export function npyHeaderBytes(dtype: NpyDtype, shape: number[]): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  const dict = `{'descr': '${dtype}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // The whole header (magic + version + length field + dict + padding + \n) is padded to a multiple of 64.
  for (const [major, lenBytes] of [[1, 2], [2, 4]] as const) {
    const pre = MAGIC.length + 2 + lenBytes;
    const total = Math.ceil((pre + dict.length + 1) / 64) * 64;
    const headerLen = total - pre;
    if (major === 1 && headerLen > 0xffff) continue;
    const buf = Buffer.alloc(total, 0x20);
    MAGIC.copy(buf, 0);
    buf[6] = major;
    buf[7] = 0;
    if (lenBytes === 2) buf.writeUInt16LE(headerLen, 8);
    else buf.writeUInt32LE(headerLen, 8);
    buf.write(dict, pre, "latin1");
    buf[total - 1] = 0x0a;
    return buf;
  }
  throw new Error("unreachable: npy header too large");
}

/** Parse the header of an open .npy file; errors name the file and what was expected. */
export function readNpyHeaderFd(fd: number, file: string): NpyHeader {
  const pre = Buffer.alloc(12);
  const got = fs.readSync(fd, pre, 0, 12, 0);
  if (got < 10 || !pre.subarray(0, 6).equals(MAGIC)) throw fileError(file, undefined, "not a .npy file (missing \\x93NUMPY magic)");
  const major = pre[6];
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = pre.readUInt16LE(8);
    start = 10;
  } else if (major === 2 || major === 3) {
    headerLen = pre.readUInt32LE(8);
    start = 12;
  } else {
    throw fileError(file, undefined, `unsupported .npy format version ${major}.${pre[7]} (expected 1.0, 2.0 or 3.0)`);
  }
  const hb = Buffer.alloc(headerLen);
  if (fs.readSync(fd, hb, 0, headerLen, start) !== headerLen) throw fileError(file, undefined, "truncated .npy header");
  const text = hb.toString(major === 3 ? "utf8" : "latin1");
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw fileError(file, undefined, `malformed .npy header ${JSON.stringify(text.trim())}`);
  }
  if (descr !== "<f4" && descr !== "<i4") {
    throw fileError(file, undefined, `dtype ${descr} is not supported (expected '<f4' float32 or '<i4' int32, little-endian)`);
  }
  if (fortran === "True") throw fileError(file, undefined, "Fortran-order arrays are not supported (expected C order)");
  const shape = shapeText
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw fileError(file, undefined, `bad shape (${shapeText})`);
  return { dtype: descr, shape, dataOffset: start + headerLen };
}

export function readNpyHeader(file: string): NpyHeader {
  const fd = openOrThrow(file, "r");
  try {
    return readNpyHeaderFd(fd, file);
  } finally {
    fs.closeSync(fd);
  }
}

function openOrThrow(file: string, flags: string): number {
  try {
    return fs.openSync(file, flags);
  } catch (e) {
    throw fileError(file, undefined, `cannot open: ${(e as Error).message}`);
  }
}

function elementCount(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Read `bytes` bytes at file position `pos` into `target` (a byte view), in chunks, failing on short files. */
function readFully(fd: number, file: string, target: Uint8Array, pos: number): void {
  let done = 0;
  while (done < target.length) {
    const n = Math.min(IO_CHUNK, target.length - done);
    const got = fs.readSync(fd, target, done, n, pos + done);
    if (got === 0) throw fileError(file, undefined, `truncated: expected ${target.length} data bytes at offset ${pos}, file ends after ${done}`);
    done += got;
  }
}

function writeFully(fd: number, data: Uint8Array, pos: number | null): void {
  let done = 0;
  while (done < data.length) {
    const n = Math.min(IO_CHUNK, data.length - done);
    done += fs.writeSync(fd, data, done, n, pos === null ? null : pos + done);
  }
}

export interface NpyArray<T extends Float32Array | Int32Array> {
  shape: number[];
  data: T;
}

/** Read a whole .npy file (float32 or int32). The data size must match the header exactly. */
export function readNpy(file: string): NpyArray<Float32Array | Int32Array> {
  const fd = openOrThrow(file, "r");
  try {
    const h = readNpyHeaderFd(fd, file);
    const count = elementCount(h.shape);
    const size = fs.fstatSync(fd).size;
    if (size !== h.dataOffset + count * 4) {
      throw fileError(file, undefined, `size ${size} bytes does not match header shape [${h.shape}] (expected ${h.dataOffset + count * 4})`);
    }
    const data = h.dtype === "<f4" ? new Float32Array(count) : new Int32Array(count);
    readFully(fd, file, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), h.dataOffset);
    return { shape: h.shape, data };
  } finally {
    fs.closeSync(fd);
  }
}

export function readNpyFloat32(file: string): NpyArray<Float32Array> {
  const a = readNpy(file);
  if (!(a.data instanceof Float32Array)) throw fileError(file, undefined, "expected float32 ('<f4') data, found int32");
  return a as NpyArray<Float32Array>;
}

export function readNpyInt32(file: string): NpyArray<Int32Array> {
  const a = readNpy(file);
  if (!(a.data instanceof Int32Array)) throw fileError(file, undefined, "expected int32 ('<i4') data, found float32");
  return a as NpyArray<Int32Array>;
}

/**
 * Read rows [start, end) of a 2-D float32 .npy file without loading the rest (random access by row range,
 * what a memory map would give).
 */
export function readNpyRows(file: string, start: number, end: number): NpyArray<Float32Array> {
  const fd = openOrThrow(file, "r");
  try {
    const h = readNpyHeaderFd(fd, file);
    if (h.dtype !== "<f4" || h.shape.length !== 2) throw fileError(file, undefined, `expected a 2-D float32 array, found ${h.dtype} [${h.shape}]`);
    const [n, d] = h.shape;
    if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= n)) {
      throw fileError(file, undefined, `row range [${start}, ${end}) is outside [0, ${n})`);
    }
    const data = new Float32Array((end - start) * d);
    readFully(fd, file, new Uint8Array(data.buffer), h.dataOffset + start * d * 4);
    return { shape: [end - start, d], data };
  } finally {
    fs.closeSync(fd);
  }
}

/** Read selected rows (any order) of a 2-D float32 .npy file; consecutive indices are read in one call. */
export function readNpyRowsAt(file: string, rows: ArrayLike<number>): NpyArray<Float32Array> {
  const fd = openOrThrow(file, "r");
  try {
    const h = readNpyHeaderFd(fd, file);
    if (h.dtype !== "<f4" || h.shape.length !== 2) throw fileError(file, undefined, `expected a 2-D float32 array, found ${h.dtype} [${h.shape}]`);
    const [n, d] = h.shape;
    const data = new Float32Array(rows.length * d);
    const bytes = new Uint8Array(data.buffer);
    let i = 0;
    while (i < rows.length) {
      let j = i + 1;
      while (j < rows.length && rows[j] === rows[j - 1] + 1) j++;
      const r = rows[i];
      if (!(Number.isInteger(r) && r >= 0 && rows[j - 1] < n)) throw fileError(file, undefined, `row ${rows[j - 1]} is outside [0, ${n})`);
      readFully(fd, file, bytes.subarray(i * d * 4, j * d * 4), h.dataOffset + r * d * 4);
      i = j;
    }
    return { shape: [rows.length, d], data };
  } finally {
    fs.closeSync(fd);
  }
}

/** Write a whole array (not atomic by itself: callers write into a temporary path and rename). */
export function writeNpy(file: string, data: Float32Array | Int32Array, shape: number[]): void {
  if (elementCount(shape) !== data.length) throw new Error(`writeNpy(${file}): shape [${shape}] does not hold ${data.length} elements`);
  const fd = fs.openSync(file, "w");
  try {
    const header = npyHeaderBytes(data instanceof Float32Array ? "<f4" : "<i4", shape);
    writeFully(fd, header, 0);
    writeFully(fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), header.length);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Append rows to a 2-D float32 .npy file whose row count is not known in advance: rows go after a header
 * reserved with room for any row count; `finish` rewrites the header with the final shape. A file left
 * unfinished has a header with 0 rows that does not match its size, so it is never mistaken for a complete one.
 */
export class NpyRowWriter {
  private fd: number;
  private rows = 0;
  private readonly headerLen: number;

  /** `rowsAlready` > 0 continues a file written earlier (resume): it must hold exactly that many rows. */
  constructor(
    readonly file: string,
    readonly dim: number,
    rowsAlready = 0,
  ) {
    // Reserve the header for the largest shape this file could get, so the final rewrite has the same length.
    this.headerLen = npyHeaderBytes("<f4", [Number.MAX_SAFE_INTEGER, dim]).length;
    if (rowsAlready > 0) {
      this.fd = fs.openSync(file, "r+");
      const size = fs.fstatSync(this.fd).size;
      const expected = this.headerLen + rowsAlready * dim * 4;
      if (size < expected) {
        fs.closeSync(this.fd);
        throw fileError(file, undefined, `cannot resume: holds ${size} bytes, expected at least ${expected} for ${rowsAlready} rows`);
      }
      fs.ftruncateSync(this.fd, expected);
      this.rows = rowsAlready;
    } else {
      this.fd = fs.openSync(file, "w");
      writeFully(this.fd, this.padHeader([0, dim]), 0);
    }
  }

  get rowCount(): number {
    return this.rows;
  }

  private padHeader(shape: number[]): Buffer {
    const h = npyHeaderBytes("<f4", shape);
    if (h.length === this.headerLen) return h;
    // Pad the dict with spaces before the newline up to the reserved length (valid .npy: padding is spaces).
    const buf = Buffer.alloc(this.headerLen, 0x20);
    h.copy(buf, 0, 0, h.length - 1);
    buf[this.headerLen - 1] = 0x0a;
    const len = this.headerLen - 10;
    if (buf[6] === 1) buf.writeUInt16LE(len, 8);
    else throw new Error("unreachable: reserved npy header needs version 2");
    return buf;
  }

  append(rows: Float32Array): void {
    if (rows.length % this.dim !== 0) throw new Error(`NpyRowWriter(${this.file}): ${rows.length} values are not whole rows of ${this.dim}`);
    writeFully(this.fd, new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength), this.headerLen + this.rows * this.dim * 4);
    this.rows += rows.length / this.dim;
  }

  /** Make the data durable without finalising (checkpoint for resumption). */
  sync(): void {
    fs.fsyncSync(this.fd);
  }

  finish(): void {
    writeFully(this.fd, this.padHeader([this.rows, this.dim]), 0);
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
  }

  /** Close without finalising (the file stays resumable). */
  close(): void {
    fs.closeSync(this.fd);
  }
}
