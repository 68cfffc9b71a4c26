/**
 * CoNLL-U reader (https://universaldependencies.org/format.html): sentences of 10 tab-separated columns, comment
 * lines "# key = value", multiword-token ranges ("3-4") and empty nodes ("8.1") kept apart from the syntactic words.
 *
 * EWT train has 205k word lines. Splitting every line into ten strings made loading all tasks GC-bound (~2 s of
 * CPU), so the reader scans the text with indexOf, copies only the columns the tasks use (FORM, UPOS, HEAD,
 * DEPREL) and reads the others from the source text when asked.
 */
import { fileError } from "../util/errors";
import { readDataText } from "./files";

const TAB = 9;
const NEWLINE = "\n";

/** A syntactic word: a line whose ID is an integer. */
export class ConlluWord {
  readonly #src: string;
  readonly #start: number;
  readonly #end: number;

  constructor(
    src: string,
    start: number,
    end: number,
    /** 1-based position in the sentence. */
    readonly id: number,
    readonly form: string,
    readonly upos: string,
    /** 0 = root; otherwise the 1-based id of the head word. */
    readonly head: number,
    readonly deprel: string,
  ) {
    this.#src = src;
    this.#start = start;
    this.#end = end;
  }

  get lemma(): string {
    return this.column(2);
  }
  get xpos(): string {
    return this.column(4);
  }
  get feats(): string {
    return this.column(5);
  }
  get deps(): string {
    return this.column(8);
  }
  get misc(): string {
    return this.column(9);
  }

  /** Column k (0 = ID ... 9 = MISC) as written in the file. */
  column(k: number): string {
    let p = this.#start;
    for (let i = 0; i < k; i++) p = this.#src.indexOf("\t", p) + 1;
    const tab = k === 9 ? -1 : this.#src.indexOf("\t", p);
    return this.#src.slice(p, tab === -1 || tab > this.#end ? this.#end : tab);
  }

  toJSON(): Record<string, string | number> {
    const { id, form, upos, head, deprel } = this;
    return { id, form, lemma: this.lemma, upos, xpos: this.xpos, feats: this.feats, head, deprel, deps: this.deps, misc: this.misc };
  }
}

/** A multiword token line ("3-4 don't ..."): surface form spanning words first..last. */
export interface ConlluMultiword {
  first: number;
  last: number;
  form: string;
}

/** An empty node ("8.1"): enhanced-graph only, no basic head; never a word of the sentence. */
export interface ConlluEmptyNode {
  id: string;
  form: string;
  upos: string;
  deps: string;
}

export interface ConlluSentence {
  /** "# sent_id = ..." or, when absent, "<file>:<line>" of the sentence's first line. */
  sentId: string;
  /** "# text = ..." when present. */
  text?: string;
  /** Every "# key = value" comment (a comment without " = " is stored with an empty value). */
  comments: Record<string, string>;
  words: ConlluWord[];
  multiwords: ConlluMultiword[];
  emptyNodes: ConlluEmptyNode[];
  /** 1-based line number of the sentence's first line (comment or word). */
  line: number;
}

const COLUMNS = "ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC";
const RANGE = /^([1-9][0-9]*)-([1-9][0-9]*)$/;
const EMPTY = /^(0|[1-9][0-9]*)\.([1-9][0-9]*)$/;

/** Parse CoNLL-U text; `file` is only used in error messages ("file:line: problem (expected ...)"). */
export function parseConllu(text: string, file: string): ConlluSentence[] {
  const sentences: ConlluSentence[] = [];
  let current: ConlluSentence | null = null;
  // Head references can point forward, so they are checked when the sentence closes; keep each word's line.
  let wordLines: number[] = [];
  const tabs = new Int32Array(9);
  // UPOS and DEPREL take a few dozen values: share one string per value instead of keeping 200k copies alive.
  const interned = new Map<string, string>();
  const intern = (from: number, to: number): string => {
    const s = text.slice(from, to);
    const known = interned.get(s);
    if (known !== undefined) return known;
    interned.set(s, s);
    return s;
  };

  const close = (): void => {
    if (!current) return;
    if (current.words.length === 0) {
      throw fileError(file, current.line, "sentence has no word lines (expected at least one line with an integer ID)");
    }
    const n = current.words.length;
    for (let i = 0; i < n; i++) {
      const w = current.words[i];
      if (w.head > n) {
        throw fileError(file, wordLines[i], `HEAD ${w.head} is beyond the last word ${n} of the sentence (expected 0..${n})`);
      }
      if (w.head === w.id) throw fileError(file, wordLines[i], `HEAD ${w.head} points at the word itself (expected another word or 0)`);
    }
    for (const m of current.multiwords) {
      if (m.last > n) throw fileError(file, current.line, `multiword range ${m.first}-${m.last} extends beyond the last word ${n}`);
    }
    sentences.push(current);
    current = null;
    wordLines = [];
  };

  const len = text.length;
  let pos = 0;
  let lineNo = 0;
  while (pos <= len) {
    let next = text.indexOf(NEWLINE, pos);
    if (next === -1) next = len;
    let end = next;
    if (end > pos && text.charCodeAt(end - 1) === 13) end--;
    lineNo++;
    const start = pos;
    pos = next + 1;

    if (end === start || (text.charCodeAt(start) <= 32 && text.slice(start, end).trim().length === 0)) {
      close();
      continue;
    }
    if (!current) {
      current = { sentId: `${file}:${lineNo}`, comments: {}, words: [], multiwords: [], emptyNodes: [], line: lineNo };
    }
    if (text.charCodeAt(start) === 35 /* # */) {
      if (current.words.length > 0 || current.multiwords.length > 0 || current.emptyNodes.length > 0) {
        throw fileError(file, lineNo, "comment line inside a sentence (expected comments only before the first word line)");
      }
      const body = text.slice(start + 1, end).trim();
      const eq = body.indexOf(" = ");
      const key = eq >= 0 ? body.slice(0, eq).trim() : body;
      const value = eq >= 0 ? body.slice(eq + 3) : "";
      current.comments[key] = value;
      if (key === "sent_id") current.sentId = value;
      else if (key === "text") current.text = value;
      continue;
    }

    // Locate the nine tabs of a 10-column line, and make sure there is no tenth.
    let found = 0;
    let t = start - 1;
    while (found < 9) {
      t = text.indexOf("\t", t + 1);
      if (t === -1 || t >= end) break;
      tabs[found++] = t;
    }
    if (found < 9 || hasTab(text, tabs[8] + 1, end)) {
      const line = text.slice(start, end);
      throw fileError(file, lineNo, `expected 10 tab-separated columns (${COLUMNS}), got ${line.split("\t").length}: ${JSON.stringify(clip(line))}`);
    }

    const num = naturalNumber(text, start, tabs[0]);
    if (num > 0) {
      const expected = current.words.length + 1;
      if (num !== expected) throw fileError(file, lineNo, `word ID ${num} out of sequence (expected ${expected})`);
      const head = naturalNumber(text, tabs[5] + 1, tabs[6]);
      if (head < 0) {
        throw fileError(file, lineNo, `HEAD ${JSON.stringify(text.slice(tabs[5] + 1, tabs[6]))} is not a word ID (expected 0 or a positive integer)`);
      }
      if (tabs[0] + 1 === tabs[1]) throw fileError(file, lineNo, "empty FORM (expected the word, or _ )");
      current.words.push(
        new ConlluWord(text, start, end, num, text.slice(tabs[0] + 1, tabs[1]), intern(tabs[2] + 1, tabs[3]), head, intern(tabs[6] + 1, tabs[7])),
      );
      wordLines.push(lineNo);
      continue;
    }

    const id = text.slice(start, tabs[0]);
    const range = RANGE.exec(id);
    if (range) {
      const first = Number(range[1]);
      const last = Number(range[2]);
      if (last <= first) throw fileError(file, lineNo, `multiword range ${id} is empty or reversed (expected first-last with first < last)`);
      if (first !== current.words.length + 1) {
        throw fileError(file, lineNo, `multiword range ${id} must come just before word ${first} (next word is ${current.words.length + 1})`);
      }
      current.multiwords.push({ first, last, form: text.slice(tabs[0] + 1, tabs[1]) });
      continue;
    }
    const empty = EMPTY.exec(id);
    if (empty) {
      if (Number(empty[1]) !== current.words.length) {
        throw fileError(file, lineNo, `empty node ${id} out of place (expected ${current.words.length}.k right after word ${current.words.length})`);
      }
      current.emptyNodes.push({ id, form: text.slice(tabs[0] + 1, tabs[1]), upos: text.slice(tabs[2] + 1, tabs[3]), deps: text.slice(tabs[7] + 1, tabs[8]) });
      continue;
    }
    throw fileError(file, lineNo, `bad ID ${JSON.stringify(id)} (expected an integer, a range like 3-4, or an empty node like 8.1)`);
  }
  close();
  return sentences;
}

/** Read and parse a CoNLL-U file (plain or .gz). */
export function readConllu(file: string): ConlluSentence[] {
  return parseConllu(readDataText(file), file);
}

function hasTab(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (text.charCodeAt(i) === TAB) return true;
  return false;
}

/** The value of text[from, to) when it is decimal digits without a leading zero ("0" itself allowed), else -1. */
function naturalNumber(text: string, from: number, to: number): number {
  const n = to - from;
  if (n <= 0 || n > 9) return -1;
  let v = 0;
  for (let i = from; i < to; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9 || (i === from && d === 0 && n > 1)) return -1;
    v = v * 10 + d;
  }
  return v;
}

function clip(s: string): string {
  return s.length > 80 ? s.slice(0, 77) + "..." : s;
}
