/**
 * STREUSLE JSON reader (the release's streusle.ud_<split>.json layout): an array of sentences, each with its UD
 * tokens (toks) and its single-word lexical expressions (swes: {toknums, lexcat, ss, ss2}). Only what the tasks
 * need is validated and kept; multiword expressions (smwes, wmwes) are not PS instances and are ignored.
 */
import { fileError } from "../util/errors";
import { readDataText } from "./files";
import { jsonErrorOffset, lineAndColumn } from "./json-errors";

export interface StreusleToken {
  /** 1-based token number ("#"). */
  num: number;
  word: string;
  upos: string;
}

export interface StreusleSwe {
  /** 1-based token number, as a one-element list (the release's layout). */
  toknums: number[];
  lexcat: string;
  ss: string | null;
  ss2: string | null;
}

export interface StreusleSentence {
  sentId: string;
  text: string;
  toks: StreusleToken[];
  swes: StreusleSwe[];
}

/** A preposition-supersense instance: one single-token adposition or possessive. */
export interface PsInstance {
  /** Index into the sentence list the instances were taken from. */
  sentence: number;
  /** 0-based token position. */
  token: number;
  lexcat: string;
  /** Scene role (ss), when it is a SNACS label ("p." ...). */
  role: string | null;
  /** Function (ss2), when it is a SNACS label. */
  fxn: string | null;
}

const SWE_FIELDS = "{toknums, lexcat, ss, ss2}";

/** Parse STREUSLE JSON text; `file` names the source in errors, which also give the record's line. */
export function parseStreusleJson(text: string, file: string): StreusleSentence[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw jsonSyntaxError(text, file, e as Error);
  }
  if (!Array.isArray(data)) throw fileError(file, 1, "expected a JSON array of sentences");
  const out: StreusleSentence[] = new Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const where = (problem: string): never => {
      const sentId = isObject(data[i]) && typeof (data[i] as Record<string, unknown>).sent_id === "string" ? ` (sent_id ${(data[i] as Record<string, unknown>).sent_id})` : "";
      throw fileError(file, recordLine(text, i), `sentence record ${i + 1}${sentId}: ${problem}`);
    };
    out[i] = readSentence(data[i], where);
  }
  return out;
}

function readSentence(rec: unknown, fail: (problem: string) => never): StreusleSentence {
  if (!isObject(rec)) return fail("expected an object {sent_id, text, toks, swes}");
  const sentId = rec.sent_id;
  if (typeof sentId !== "string") return fail('missing field "sent_id" (expected a string)');
  const toksRaw = rec.toks;
  if (!Array.isArray(toksRaw) || toksRaw.length === 0) return fail('missing field "toks" (expected a non-empty array of tokens {#, word, upos, ...})');
  const toks: StreusleToken[] = new Array(toksRaw.length);
  for (let t = 0; t < toksRaw.length; t++) {
    const tok = toksRaw[t];
    if (!isObject(tok)) return fail(`toks[${t}] is not an object (expected {#, word, upos, ...})`);
    const num = tok["#"];
    if (num !== t + 1) return fail(`toks[${t}] has "#" ${JSON.stringify(num)} (expected ${t + 1})`);
    if (typeof tok.word !== "string" || tok.word === "") return fail(`toks[${t}] missing field "word" (expected a non-empty string)`);
    toks[t] = { num: t + 1, word: tok.word, upos: typeof tok.upos === "string" ? tok.upos : "_" };
  }
  const swesRaw = rec.swes;
  if (!isObject(swesRaw)) return fail(`missing field "swes" (expected an object of single-word expressions ${SWE_FIELDS})`);
  const swes: StreusleSwe[] = [];
  for (const [key, swe] of Object.entries(swesRaw)) {
    if (!isObject(swe)) return fail(`swes["${key}"] is not an object (expected ${SWE_FIELDS})`);
    const toknums = swe.toknums;
    if (!Array.isArray(toknums) || toknums.length !== 1 || !Number.isInteger(toknums[0]) || toknums[0] < 1 || toknums[0] > toks.length) {
      return fail(`swes["${key}"].toknums is ${JSON.stringify(toknums)} (expected one token number in 1..${toks.length})`);
    }
    if (typeof swe.lexcat !== "string") return fail(`swes["${key}"] missing field "lexcat" (expected ${SWE_FIELDS})`);
    for (const f of ["ss", "ss2"] as const) {
      if (!(f in swe)) return fail(`swes["${key}"] missing field "${f}" (expected ${SWE_FIELDS}, ${f} a string or null)`);
      if (swe[f] !== null && typeof swe[f] !== "string") return fail(`swes["${key}"].${f} is ${JSON.stringify(swe[f])} (expected a string or null)`);
    }
    swes.push({ toknums: toknums as number[], lexcat: swe.lexcat, ss: swe.ss as string | null, ss2: swe.ss2 as string | null });
  }
  return { sentId, text: typeof rec.text === "string" ? rec.text : toks.map((t) => t.word).join(" "), toks, swes };
}

/** Read and parse a STREUSLE JSON file (plain or .gz). */
export function readStreusleJson(file: string): StreusleSentence[] {
  return parseStreusleJson(readDataText(file), file);
}

/**
 * PS instances under the rule of Liu et al. (2019), which DirectProbe follows: single-word expressions only;
 * a role instance when ss starts with "p.", a function instance when ss2 does. This leaves out "??"
 * (unannotatable) and "`$" (non-SNACS possessives) and every multiword expression.
 */
export function psInstances(sentences: StreusleSentence[]): PsInstance[] {
  const out: PsInstance[] = [];
  for (let s = 0; s < sentences.length; s++) {
    // swes is keyed by expression number, not token order: sort so instances follow the sentence.
    const swes = [...sentences[s].swes].sort((a, b) => a.toknums[0] - b.toknums[0]);
    for (const swe of swes) {
      const role = swe.ss !== null && swe.ss.startsWith("p.") ? swe.ss : null;
      const fxn = swe.ss2 !== null && swe.ss2.startsWith("p.") ? swe.ss2 : null;
      if (role === null && fxn === null) continue;
      out.push({ sentence: s, token: swe.toknums[0] - 1, lexcat: swe.lexcat, role, fxn });
    }
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function jsonSyntaxError(text: string, file: string, e: Error): Error {
  const offset = jsonErrorOffset(text);
  if (offset < 0) return fileError(file, undefined, `invalid JSON (${e.message}; expected a JSON array of STREUSLE sentences)`);
  const { line, column } = lineAndColumn(text, offset);
  const found = offset < text.length ? JSON.stringify(text[offset]) : "end of file";
  return fileError(file, line, `invalid JSON at column ${column}: unexpected ${found} (expected a JSON array of STREUSLE sentences)`);
}

function lineOf(text: string, pos: number): number {
  return lineAndColumn(text, pos).line;
}

/**
 * The line where the index-th element of the top-level array starts. Only called on the error path, so a
 * character scan (aware of strings and nesting) is fine.
 */
function recordLine(text: string, index: number): number {
  let depth = 0;
  let inString = false;
  let count = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      if (depth === 1 && ++count === index) return lineOf(text, i);
    } else if (c === "{" || c === "[") {
      if (depth === 1 && ++count === index) return lineOf(text, i);
      depth++;
    } else if (c === "}" || c === "]") depth--;
    else if (depth === 1 && /[-0-9tfn]/.test(c)) {
      // A scalar element (number, true, false, null): count its first character only.
      if (++count === index) return lineOf(text, i);
      while (i + 1 < text.length && /[-+.0-9a-zA-Z]/.test(text[i + 1])) i++;
    }
  }
  return lineOf(text, text.length);
}
