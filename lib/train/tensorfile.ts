/**
 * Minimal safetensors writer/reader for float32 tensors held in plain Float32Arrays (optimizer moments),
 * streamed through a file descriptor so that BERT-base's ~880 MB of Adam state never needs one giant Buffer.
 * Format: 8-byte little-endian header length, JSON header {name: {dtype, shape, data_offsets}}, raw data.
 */
import * as fs from "node:fs";
import { fileError } from "../util/errors";

export interface FloatTensor {
  shape: number[];
  data: Float32Array;
}

export function writeFloatTensors(file: string, tensors: Map<string, FloatTensor>): void {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, t] of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`tensor ${name}: shape [${t.shape}] holds ${n} values, data has ${t.data.length}`);
    header[name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8); // keep the data 8-byte aligned, as the reference writer does
  const head = Buffer.alloc(8 + json.length);
  head.writeBigUInt64LE(BigInt(json.length), 0);
  head.write(json, 8, "utf8");
  const fd = fs.openSync(file, "w");
  try {
    fs.writeSync(fd, head);
    for (const t of tensors.values()) {
      const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      for (let at = 0; at < bytes.length; at += 1 << 26) fs.writeSync(fd, bytes.subarray(at, Math.min(bytes.length, at + (1 << 26))));
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export function readFloatTensors(file: string): Map<string, FloatTensor> {
  const fd = fs.openSync(file, "r");
  try {
    const lenBuf = Buffer.alloc(8);
    if (fs.readSync(fd, lenBuf, 0, 8, 0) !== 8) throw fileError(file, undefined, "truncated safetensors file (no header length)");
    const len = Number(lenBuf.readBigUInt64LE(0));
    const size = fs.fstatSync(fd).size;
    if (len > size - 8) throw fileError(file, undefined, `header length ${len} exceeds the file size ${size}`);
    const headBuf = Buffer.alloc(len);
    fs.readSync(fd, headBuf, 0, len, 8);
    let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    try {
      header = JSON.parse(headBuf.toString("utf8"));
    } catch (e) {
      throw fileError(file, undefined, `unreadable safetensors header: ${(e as Error).message}`);
    }
    const out = new Map<string, FloatTensor>();
    for (const [name, h] of Object.entries(header)) {
      if (name === "__metadata__") continue;
      if (h.dtype !== "F32") throw fileError(file, undefined, `tensor ${name}: expected dtype F32, got ${h.dtype}`);
      const [a, b] = h.data_offsets;
      if (8 + len + b > size) throw fileError(file, undefined, `tensor ${name}: data runs past the end of the file (truncated?)`);
      const data = new Float32Array((b - a) / 4);
      const bytes = new Uint8Array(data.buffer);
      for (let at = 0; at < bytes.length; at += 1 << 26) {
        fs.readSync(fd, bytes, at, Math.min(1 << 26, bytes.length - at), 8 + len + a + at);
      }
      out.set(name, { shape: h.shape, data });
    }
    return out;
  } finally {
    fs.closeSync(fd);
  }
}
