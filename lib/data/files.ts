import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { fileError } from "../util/errors";

/**
 * The committed data files are gzipped to keep the clone small; users pointing FTGEO_DATA at an unpacked copy
 * have the plain files. Accept either, preferring the plain file when both exist (it is the one a user edits).
 */
export function resolveDataFile(dir: string, name: string): string {
  const plain = path.join(dir, name);
  if (fs.existsSync(plain)) return plain;
  const gz = plain + ".gz";
  if (fs.existsSync(gz)) return gz;
  throw fileError(plain, undefined, `file not found (expected ${name} or ${name}.gz in ${dir}; set FTGEO_DATA to the data folder)`);
}

/** Read a data file as bytes, gunzipping *.gz; a missing or unreadable file names itself. */
export function readDataBytes(file: string): Buffer {
  let raw: Buffer;
  try {
    raw = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw fileError(file, undefined, code === "ENOENT" ? "file not found" : `cannot read (${(e as Error).message})`);
  }
  if (!file.endsWith(".gz")) return raw;
  try {
    return zlib.gunzipSync(raw);
  } catch (e) {
    throw fileError(file, undefined, `not a valid gzip file (${(e as Error).message})`);
  }
}

/** Read a data file as text. "latin1" maps every byte to one character, so odd bytes never break a line. */
export function readDataText(file: string, encoding: "utf8" | "latin1" = "utf8"): string {
  const text = readDataBytes(file).toString(encoding);
  // A UTF-8 byte-order mark would otherwise glue itself to the first field.
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Split text into lines, accepting LF and CRLF endings. */
export function splitLines(text: string): string[] {
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (l.length > 0 && l.charCodeAt(l.length - 1) === 13) lines[i] = l.slice(0, -1);
  }
  return lines;
}
