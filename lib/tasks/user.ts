/**
 * User-defined tasks: a notebook user writes rows (tokens, target positions, label, optional split) in a CSV, TSV
 * or JSONL file, or directly as objects in a cell, and gets a Task like the built-in ones.
 *
 * Columns (header names, case-insensitive; aliases in parentheses):
 *   tokens (words, sentence, text)  the pre-split sentence: a space-separated string, or a JSON array of strings
 *   targets (target, positions)     0-based word positions: empty for a sentence task, "3" for a token task,
 *                                   "3 5" / "3,5" / "[3,5]" for a pair task; every row must have the same number
 *   label                           the class
 *   split                           optional: train, dev, test, ... (default: the `split` option, else "train")
 *   id (sentence_id)                optional: a sentence identifier for reports
 * Rows of one split with the same tokens (and id) share one sentence, so the encoder runs once for it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { argError, FtgeoError, fileError } from "../util/errors";
import { readDataText } from "../data/files";
import { buildTask, LabelIndexer } from "./build";
import type { Example, Split, Task, TaskKind } from "./types";

export interface UserRow {
  tokens: string | string[];
  targets?: number | number[] | string | null;
  label: string | number;
  split?: string;
  id?: string;
}

export type UserTaskFormat = "csv" | "tsv" | "jsonl";

export interface UserTaskOptions {
  /** Task name (default: the file name without extension). */
  name?: string;
  /** File format (default: from the extension: .csv, .tsv/.tab, .jsonl/.ndjson). */
  format?: UserTaskFormat;
  /** Split for rows without a split column (default "train"). */
  split?: string;
}

const KIND_BY_TARGETS: TaskKind[] = ["sentence", "token", "pair"];
const SPLIT_ORDER = ["train", "dev", "test"];
const ALIASES: Record<keyof Required<UserRow>, string[]> = {
  tokens: ["tokens", "words", "sentence", "text"],
  targets: ["targets", "target", "positions"],
  label: ["label"],
  split: ["split"],
  id: ["id", "sentence_id"],
};
const EXPECTED_COLUMNS = "tokens and label, optionally targets, split, id";

/** Where a row came from, for error messages: a file line or an index into in-memory rows. */
type Locate = (field: string, problem: string) => FtgeoError;

interface LocatedRow {
  row: Partial<Record<keyof UserRow, unknown>>;
  locate: Locate;
  /** Identifier used when the row starts a new sentence and has no id. */
  origin: string;
}

/**
 * Load a user task from one file (rows may carry a split column) or from one file per split
 * ({train: "a.csv", test: "b.csv"}).
 */
export function loadUserTask(source: string | Record<string, string>, opts: UserTaskOptions = {}): Task {
  const files = typeof source === "string" ? { [opts.split ?? ""]: source } : source;
  const entries = Object.entries(files);
  if (entries.length === 0) throw argError("source", "no files given (expected a file path or {split: file, ...})");
  const rows: LocatedRow[] = [];
  for (const [split, file] of entries) {
    if (typeof file !== "string" || file === "") throw argError(`source.${split}`, "expected a file path");
    for (const r of readRows(file, opts.format ?? formatOf(file))) {
      if (split !== "") {
        if (r.row.split !== undefined && r.row.split !== "" && r.row.split !== split) {
          throw r.locate("split", `is ${JSON.stringify(r.row.split)} but the file was given as split ${JSON.stringify(split)}`);
        }
        r.row.split = split;
      }
      rows.push(r);
    }
  }
  const first = entries[0][1];
  const name = opts.name ?? path.basename(first).replace(/\.(csv|tsv|tab|jsonl|ndjson)(\.gz)?$/i, "");
  return assemble(name, entries.map(([, f]) => f).join(", "), rows, opts.split ?? "train");
}

/** Build a task from rows written in a notebook cell. */
export function taskFromRows(name: string, rows: UserRow[], opts: { split?: string } = {}): Task {
  if (!Array.isArray(rows)) throw argError("rows", "expected an array of {tokens, targets?, label, split?}");
  const located: LocatedRow[] = rows.map((row, i) => {
    if (typeof row !== "object" || row === null) throw argError(`rows[${i}]`, "expected an object {tokens, targets?, label, split?}");
    return { row: { ...row }, locate: (field, problem) => argError(`rows[${i}].${field}`, problem), origin: `rows[${i}]` };
  });
  return assemble(name, "(in-memory rows)", located, opts.split ?? "train");
}

function formatOf(file: string): UserTaskFormat {
  const base = file.toLowerCase().replace(/\.gz$/, "");
  if (base.endsWith(".csv")) return "csv";
  if (base.endsWith(".tsv") || base.endsWith(".tab")) return "tsv";
  if (base.endsWith(".jsonl") || base.endsWith(".ndjson")) return "jsonl";
  throw fileError(file, undefined, "unknown file type (expected .csv, .tsv or .jsonl, or pass the format option)");
}

function readRows(file: string, format: UserTaskFormat): LocatedRow[] {
  if (!fs.existsSync(file)) throw fileError(file, undefined, "file not found (expected a CSV, TSV or JSONL task file)");
  const text = readDataText(file);
  if (format === "jsonl") return jsonlRows(text, file);
  const records = format === "csv" ? csvRecords(text, file) : tsvRecords(text);
  const nonEmpty = records.filter((r) => !(r.fields.length === 1 && r.fields[0].trim() === ""));
  if (nonEmpty.length === 0) throw fileError(file, 1, `empty file (expected a header line with ${EXPECTED_COLUMNS})`);
  const [header, ...body] = nonEmpty;
  const columns = mapColumns(header.fields, file, header.line);
  return body.map((rec) => {
    if (rec.fields.length !== header.fields.length) {
      throw fileError(file, rec.line, `expected ${header.fields.length} ${format === "csv" ? "comma" : "tab"}-separated fields like the header, got ${rec.fields.length}`);
    }
    const row: LocatedRow["row"] = {};
    for (const [field, index] of Object.entries(columns)) row[field as keyof UserRow] = rec.fields[index];
    return {
      row,
      locate: (field: string, problem: string) => {
        const index = columns[field as keyof UserRow];
        return fileError(file, rec.line, `column ${JSON.stringify(index === undefined ? field : header.fields[index].trim())}: ${problem}`);
      },
      origin: `${path.basename(file)}:${rec.line}`,
    };
  });
}

/** Header names -> field; unknown columns are ignored (users keep notes next to their data). */
function mapColumns(header: string[], file: string, line: number): Partial<Record<keyof UserRow, number>> {
  const out: Partial<Record<keyof UserRow, number>> = {};
  header.forEach((raw, i) => {
    const h = raw.trim().toLowerCase();
    for (const [field, names] of Object.entries(ALIASES)) {
      if (!names.includes(h)) continue;
      if (out[field as keyof UserRow] !== undefined) throw fileError(file, line, `two columns for ${field} (expected one of ${names.join(", ")})`);
      out[field as keyof UserRow] = i;
    }
  });
  for (const req of ["tokens", "label"] as const) {
    if (out[req] === undefined) {
      throw fileError(file, line, `missing column ${JSON.stringify(req)} in the header (expected ${EXPECTED_COLUMNS}; got ${header.map((h) => JSON.stringify(h)).join(", ")})`);
    }
  }
  return out;
}

interface RawRecord {
  fields: string[];
  /** 1-based line where the record starts. */
  line: number;
}

/** RFC 4180 CSV: quoted fields may hold commas, doubled quotes and line breaks. */
function csvRecords(text: string, file: string): RawRecord[] {
  const out: RawRecord[] = [];
  let fields: string[] = [];
  let field = "";
  let line = 1;
  let recordLine = 1;
  let i = 0;
  let quoted = false;
  let atFieldStart = true;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        const n = text[i];
        if (n !== undefined && n !== "," && n !== "\n" && n !== "\r") {
          throw fileError(file, line, `unexpected ${JSON.stringify(n)} after a closing quote (expected a comma or the end of the line)`);
        }
        continue;
      }
      if (c === "\n") line++;
      field += c;
      i++;
      continue;
    }
    if (c === '"' && atFieldStart) {
      quoted = true;
      atFieldStart = false;
      i++;
      continue;
    }
    if (c === ",") {
      fields.push(field);
      field = "";
      atFieldStart = true;
      i++;
      continue;
    }
    if (c === "\n" || c === "\r") {
      fields.push(field);
      out.push({ fields, line: recordLine });
      fields = [];
      field = "";
      atFieldStart = true;
      i += c === "\r" && text[i + 1] === "\n" ? 2 : 1;
      line++;
      recordLine = line;
      continue;
    }
    field += c;
    atFieldStart = false;
    i++;
  }
  if (quoted) throw fileError(file, recordLine, "unterminated quoted field (expected a closing double quote)");
  if (field !== "" || fields.length > 0) {
    fields.push(field);
    out.push({ fields, line: recordLine });
  }
  return out;
}

function tsvRecords(text: string): RawRecord[] {
  const lines = text.split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines.map((l, i) => ({ fields: l.replace(/\r$/, "").split("\t"), line: i + 1 }));
}

function jsonlRows(text: string, file: string): LocatedRow[] {
  const out: LocatedRow[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i].trim();
    if (l === "") continue;
    let obj: unknown;
    try {
      obj = JSON.parse(l);
    } catch (e) {
      throw fileError(file, i + 1, `invalid JSON (${(e as Error).message}; expected one object {tokens, targets, label, split?} per line)`);
    }
    if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
      throw fileError(file, i + 1, "expected a JSON object {tokens, targets, label, split?} on each line");
    }
    const row: LocatedRow["row"] = {};
    for (const [key, value] of Object.entries(obj)) {
      for (const [field, names] of Object.entries(ALIASES)) if (names.includes(key.toLowerCase())) row[field as keyof UserRow] = value;
    }
    const line = i + 1;
    out.push({ row, locate: (field, problem) => fileError(file, line, `field ${JSON.stringify(field)}: ${problem}`), origin: `${path.basename(file)}:${line}` });
  }
  return out;
}

function parseTokens(value: unknown, locate: Locate): string[] {
  let tokens: unknown = value;
  if (typeof value === "string" && value.trim().startsWith("[")) {
    try {
      tokens = JSON.parse(value);
    } catch {
      throw locate("tokens", `${JSON.stringify(clip(value))} looks like a JSON array but does not parse (expected ["w1", "w2", ...] or space-separated words)`);
    }
  }
  if (typeof tokens === "string") {
    const words = tokens.trim().split(/\s+/).filter((w) => w !== "");
    if (words.length === 0) throw locate("tokens", "is empty (expected at least one word)");
    return words;
  }
  if (Array.isArray(tokens) && tokens.length > 0 && tokens.every((w) => typeof w === "string" && w !== "")) return tokens as string[];
  throw locate("tokens", `is ${JSON.stringify(value)} (expected space-separated words or a non-empty array of non-empty strings)`);
}

function parseTargets(value: unknown, nWords: number, locate: Locate): number[] {
  let list: unknown[];
  if (value === undefined || value === null) list = [];
  else if (typeof value === "number") list = [value];
  else if (Array.isArray(value)) list = value;
  else if (typeof value === "string") {
    const s = value.trim();
    if (s.startsWith("[")) {
      try {
        const parsed = JSON.parse(s);
        list = Array.isArray(parsed) ? parsed : [parsed];
      } catch {
        throw locate("targets", `${JSON.stringify(s)} does not parse (expected e.g. [3] or [3, 5])`);
      }
    } else list = s === "" ? [] : s.split(/[\s,;]+/).map((p) => (/^-?\d+$/.test(p) ? Number(p) : p));
  } else throw locate("targets", `is ${JSON.stringify(value)} (expected none, one or two 0-based word positions)`);
  if (list.length > 2) throw locate("targets", `has ${list.length} positions (expected none, one or two)`);
  for (const t of list) {
    if (typeof t !== "number" || !Number.isInteger(t) || t < 0 || t >= nWords) {
      throw locate("targets", `position ${JSON.stringify(t)} is not a word of the sentence (expected an integer 0..${nWords - 1}, 0-based)`);
    }
  }
  return list as number[];
}

function assemble(name: string, source: string, rows: LocatedRow[], defaultSplit: string): Task {
  if (rows.length === 0) throw new FtgeoError(`task ${JSON.stringify(name)} from ${source}: no rows (expected at least one example)`);
  const labels = new LabelIndexer();
  const splits = new Map<string, { split: Split; sentenceOf: Map<string, number> }>();
  let nTargets = -1;
  let firstOrigin = "";
  for (const { row, locate, origin } of rows) {
    const words = parseTokens(row.tokens, locate);
    const targets = parseTargets(row.targets, words.length, locate);
    if (nTargets === -1) {
      nTargets = targets.length;
      firstOrigin = origin;
    } else if (targets.length !== nTargets) {
      throw locate("targets", `has ${targets.length} position(s) but ${firstOrigin} has ${nTargets} (expected the same number in every row: 0 sentence task, 1 token task, 2 pair task)`);
    }
    const label = typeof row.label === "number" ? String(row.label) : row.label;
    if (typeof label !== "string" || label.trim() === "") throw locate("label", `is ${JSON.stringify(row.label)} (expected a non-empty label)`);
    const splitName = row.split === undefined || row.split === null || String(row.split).trim() === "" ? defaultSplit : String(row.split).trim();
    const id = row.id === undefined || row.id === null || String(row.id) === "" ? undefined : String(row.id);

    let entry = splits.get(splitName);
    if (!entry) {
      entry = { split: { name: splitName, sentences: [], sentenceIds: [], examples: [] }, sentenceOf: new Map() };
      splits.set(splitName, entry);
    }
    const key = `${id ?? ""}\u0001${words.join("\u0000")}`;
    let sentence = entry.sentenceOf.get(key);
    if (sentence === undefined) {
      sentence = entry.split.sentences.length;
      entry.sentenceOf.set(key, sentence);
      entry.split.sentences.push(words);
      entry.split.sentenceIds.push(id ?? origin);
    }
    const ex: Example = { sentence, targets, label: labels.id(label.trim()) };
    entry.split.examples.push(ex);
  }
  const ordered = [...splits.values()].map((e) => e.split).sort((a, b) => splitRank(a.name) - splitRank(b.name));
  return buildTask(name, KIND_BY_TARGETS[nTargets], source, ordered, labels);
}

function splitRank(name: string): number {
  const i = SPLIT_ORDER.indexOf(name);
  return i === -1 ? SPLIT_ORDER.length : i;
}

function clip(s: string): string {
  return s.length > 60 ? s.slice(0, 57) + "..." : s;
}
