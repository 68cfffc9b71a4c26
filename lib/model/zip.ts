/**
 * A minimal zip reader for torch.save archives: central directory (with zip64), stored and deflated entries,
 * CRC-32 checked. Entries are read by offset through a file descriptor, so multi-GiB archives never sit in one
 * Buffer.
 */
import * as fs from "node:fs";
import * as zlib from "node:zlib";
import { fileError } from "../util/errors";
import { readExactly } from "./safetensors";

export interface ZipEntry {
  name: string;
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

export class ZipReader {
  readonly entries = new Map<string, ZipEntry>();
  private readonly fd: number;
  readonly fileSize: number;

  private constructor(readonly file: string, fd: number) {
    this.fd = fd;
    this.fileSize = fs.fstatSync(fd).size;
  }

  static isZip(file: string): boolean {
    const fd = fs.openSync(file, "r");
    try {
      const b = Buffer.alloc(4);
      return fs.readSync(fd, b, 0, 4, 0) === 4 && b.readUInt32LE(0) === 0x04034b50;
    } finally {
      fs.closeSync(fd);
    }
  }

  static open(file: string): ZipReader {
    const z = new ZipReader(file, fs.openSync(file, "r"));
    try {
      z.readCentralDirectory();
    } catch (e) {
      z.close();
      throw e;
    }
    return z;
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  private bytes(position: number, length: number, what: string): Buffer {
    if (position < 0 || position + length > this.fileSize) {
      throw fileError(this.file, undefined, `${what}: bytes ${position}-${position + length} lie beyond the end of the file (${this.fileSize} bytes): truncated zip archive`);
    }
    const b = Buffer.alloc(length);
    readExactly(this.fd, this.file, b, position, what);
    return b;
  }

  private readCentralDirectory(): void {
    // The end-of-central-directory record is in the last 22 + 65535 (comment) bytes.
    const tailLen = Math.min(this.fileSize, 22 + 65535);
    const tail = this.bytes(this.fileSize - tailLen, tailLen, "end of central directory");
    let eocd = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === 0x06054b50) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw fileError(this.file, undefined, "no zip end-of-central-directory record: truncated or not a zip archive");
    let count = tail.readUInt16LE(eocd + 10);
    let cdSize = tail.readUInt32LE(eocd + 12);
    let cdOffset = tail.readUInt32LE(eocd + 16);
    const eocdPos = this.fileSize - tailLen + eocd;
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      // zip64: a locator just before the EOCD points at the zip64 EOCD record
      const loc = this.bytes(eocdPos - 20, 20, "zip64 locator");
      if (loc.readUInt32LE(0) !== 0x07064b50) throw fileError(this.file, undefined, "zip64 end-of-central-directory locator missing");
      const z64pos = Number(loc.readBigUInt64LE(8));
      const z64 = this.bytes(z64pos, 56, "zip64 end of central directory");
      if (z64.readUInt32LE(0) !== 0x06064b50) throw fileError(this.file, undefined, "zip64 end-of-central-directory record missing");
      count = Number(z64.readBigUInt64LE(32));
      cdSize = Number(z64.readBigUInt64LE(40));
      cdOffset = Number(z64.readBigUInt64LE(48));
    }
    const cd = this.bytes(cdOffset, cdSize, "central directory");
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== 0x02014b50) throw fileError(this.file, undefined, `central directory entry ${i} is corrupt`);
      const method = cd.readUInt16LE(p + 10);
      const crc32 = cd.readUInt32LE(p + 16);
      let compressedSize = cd.readUInt32LE(p + 20);
      let size = cd.readUInt32LE(p + 24);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      let localHeaderOffset = cd.readUInt32LE(p + 42);
      const name = cd.toString("utf8", p + 46, p + 46 + nameLen);
      // zip64 extra field: the 64-bit values appear, in this order, only for fields saturated at 0xffffffff
      let q = p + 46 + nameLen;
      const extraEnd = q + extraLen;
      while (q + 4 <= extraEnd) {
        const id = cd.readUInt16LE(q);
        const len = cd.readUInt16LE(q + 2);
        if (id === 0x0001) {
          let r = q + 4;
          if (size === 0xffffffff) (size = Number(cd.readBigUInt64LE(r))), (r += 8);
          if (compressedSize === 0xffffffff) (compressedSize = Number(cd.readBigUInt64LE(r))), (r += 8);
          if (localHeaderOffset === 0xffffffff) localHeaderOffset = Number(cd.readBigUInt64LE(r));
        }
        q += 4 + len;
      }
      this.entries.set(name, { name, method, crc32, compressedSize, size, localHeaderOffset });
      p = extraEnd + commentLen;
    }
  }

  /** The entry's uncompressed bytes, CRC-checked. */
  read(name: string): Buffer {
    const e = this.entries.get(name);
    if (!e) throw fileError(this.file, undefined, `zip entry "${name}" is missing`);
    const lh = this.bytes(e.localHeaderOffset, 30, `local header of "${name}"`);
    if (lh.readUInt32LE(0) !== 0x04034b50) throw fileError(this.file, undefined, `local header of zip entry "${name}" is corrupt`);
    const dataPos = e.localHeaderOffset + 30 + lh.readUInt16LE(26) + lh.readUInt16LE(28);
    const raw = this.bytes(dataPos, e.compressedSize, `zip entry "${name}"`);
    let data: Buffer;
    if (e.method === 0) data = raw;
    else if (e.method === 8) data = zlib.inflateRawSync(raw);
    else throw fileError(this.file, undefined, `zip entry "${name}" uses compression method ${e.method} (only stored and deflate are supported)`);
    if (data.length !== e.size) throw fileError(this.file, undefined, `zip entry "${name}" has ${data.length} bytes, the directory says ${e.size}`);
    if (zlib.crc32(data) >>> 0 !== e.crc32) throw fileError(this.file, undefined, `zip entry "${name}" fails its CRC-32 check: the file is corrupt`);
    return data;
  }
}
