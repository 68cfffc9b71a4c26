import * as fs from "node:fs";
import * as path from "node:path";

/**
 * Write a file so that readers only ever see the old or the complete new content:
 * write to a temporary sibling, fsync, then rename (atomic on POSIX within one filesystem).
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  const fd = fs.openSync(tmp, "w");
  try {
    fs.writeSync(fd, typeof data === "string" ? Buffer.from(data, "utf8") : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + "\n");
}

/**
 * Replace a whole directory atomically: the caller fills `tmpDir` (a sibling of `dir`), then this swaps it in.
 * An interrupted fill leaves only a stray `*.partial-*` directory, never a half-written `dir`; a fill that throws
 * leaves nothing.
 */
export function withAtomicDir<T>(dir: string, fill: (tmpDir: string) => T): T {
  const tmp = freshSibling(dir);
  let result: T;
  try {
    result = fill(tmp);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  swapIn(dir, tmp);
  return result;
}

/** Async variant of withAtomicDir for fills that await (e.g. reading tensors back from the backend). */
export async function withAtomicDirAsync<T>(dir: string, fill: (tmpDir: string) => Promise<T>): Promise<T> {
  const tmp = freshSibling(dir);
  let result: T;
  try {
    result = await fill(tmp);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  swapIn(dir, tmp);
  return result;
}

function freshSibling(dir: string): string {
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const tmp = `${dir}.partial-${process.pid}-${Date.now()}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  return tmp;
}

function swapIn(dir: string, tmp: string): void {
  const old = `${dir}.old-${process.pid}-${Date.now()}`;
  if (fs.existsSync(dir)) fs.renameSync(dir, old);
  fs.renameSync(tmp, dir);
  fs.rmSync(old, { recursive: true, force: true });
}
