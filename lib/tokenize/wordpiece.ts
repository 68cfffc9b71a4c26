/**
 * BERT WordPiece tokenization, identical to Hugging Face's BertTokenizerFast (the Rust `tokenizers` BertNormalizer +
 * BertPreTokenizer + WordPiece pipeline that AutoTokenizer returns for BERT models).
 *
 * Why our own implementation rather than a library at run time: the datasets give pre-split words, so the hot path is
 * "ids of one word", called ~200k times per EWT pass; a per-word cache over a plain JS implementation does that in
 * milliseconds, while a native binding pays a call and a string copy per word and offers no word-level cache.
 * test/tokenize-reference.test.ts checks this implementation against the Rust `tokenizers` package (devDependency)
 * on every word of EWT and TREC plus hand-picked difficult strings.
 *
 * One known difference from the *slow* Python BertTokenizer: Python's str.lower() turns a word-final capital
 * sigma into final sigma (ς); the fast tokenizer lower-cases one character at a time (σ). We follow the fast one.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { FtgeoError, argError, fileError } from "../util/errors";
import { modelsDir } from "../util/paths";

export interface BertTokenizerOptions {
  /** Lower-case text (uncased models). Default true. */
  lowercase?: boolean;
  /** Remove combining marks after NFD. Default: same as `lowercase` (Hugging Face's strip_accents=None). */
  stripAccents?: boolean;
  /** Put every CJK ideograph in its own word. Default true. */
  tokenizeChineseChars?: boolean;
  /** Words (after punctuation splitting) longer than this many code points become [UNK]. Default 100. */
  maxInputCharsPerWord?: number;
}

/** The tokens BERT never splits and never lower-cases when they appear verbatim in text. */
export const SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] as const;

// Character classes, computed once per code point and memoised in CHAR_CLASS (0 = not computed yet).
const KNOWN = 1;
/** Removed by text cleaning: NUL, U+FFFD and every "C*" category character except \t \n \r. */
const DROP = 2;
/** Separates words: \t \n \r, space separators (Zs), line/paragraph separators. */
const SPACE = 4;
/** Split off as a word of its own: ASCII punctuation ranges and Unicode P* categories. */
const PUNCT = 8;
/** CJK ideographs: surrounded by word boundaries. */
const CJK = 16;
/** Nonspacing combining mark (Mn): removed by accent stripping. */
const MARK = 32;

const CHAR_CLASS = new Uint8Array(0x110000);
const RE_OTHER = /^\p{C}$/u;
const RE_ZS = /^\p{Zs}$/u;
const RE_PUNCT = /^\p{P}$/u;
const RE_MN = /^\p{Mn}$/u;

function isCjk(cp: number): boolean {
  // The same blocks as BERT's _is_chinese_char: CJK Unified Ideographs and extensions A-E, compatibility
  // ideographs and their supplement. Hangul and kana are not included (they are written with spaces).
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

function charClass(cp: number): number {
  const known = CHAR_CLASS[cp];
  if (known !== 0) return known;
  let c = KNOWN;
  const ch = String.fromCodePoint(cp);
  if (cp === 9 || cp === 10 || cp === 13 || cp === 0x2028 || cp === 0x2029 || RE_ZS.test(ch)) c |= SPACE;
  else if (cp === 0 || cp === 0xfffd || RE_OTHER.test(ch)) c |= DROP;
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) {
    c |= PUNCT;
  } else if (RE_PUNCT.test(ch)) c |= PUNCT;
  if (isCjk(cp)) c |= CJK;
  if (RE_MN.test(ch)) c |= MARK;
  CHAR_CLASS[cp] = c;
  return c;
}

const CACHE_LIMIT = 500_000;

export class BertTokenizer {
  readonly vocabSize: number;
  readonly padId: number;
  readonly unkId: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly maskId: number;
  readonly lowercase: boolean;
  readonly stripAccents: boolean;
  readonly tokenizeChineseChars: boolean;
  readonly maxInputCharsPerWord: number;

  private readonly vocab = new Map<string, number>();
  private readonly tokens: readonly string[];
  /** Longest vocabulary entry in UTF-16 units (without "##"): no longer match can exist. */
  private readonly maxPieceUnits: number;
  /** Ids of a whitespace-free chunk of text, after cleaning; the hot path for pre-split words. */
  private readonly chunkCache = new Map<string, readonly number[]>();
  private readonly specialRe: RegExp;

  private constructor(tokens: readonly string[], opts: BertTokenizerOptions, readonly source: string) {
    this.tokens = tokens;
    this.vocabSize = tokens.length;
    let maxUnits = 1;
    tokens.forEach((t, i) => {
      // A duplicated entry maps to its last line, as in both Hugging Face loaders.
      this.vocab.set(t, i);
      const units = t.startsWith("##") ? t.length - 2 : t.length;
      if (units > maxUnits) maxUnits = units;
    });
    this.maxPieceUnits = maxUnits;
    const need = (tok: string): number => {
      const id = this.vocab.get(tok);
      if (id === undefined) throw fileError(source, undefined, `vocabulary has no ${tok} token (a BERT vocab.txt needs ${SPECIAL_TOKENS.join(" ")})`);
      return id;
    };
    this.padId = need("[PAD]");
    this.unkId = need("[UNK]");
    this.clsId = need("[CLS]");
    this.sepId = need("[SEP]");
    this.maskId = need("[MASK]");
    this.lowercase = opts.lowercase ?? true;
    this.stripAccents = opts.stripAccents ?? this.lowercase;
    this.tokenizeChineseChars = opts.tokenizeChineseChars ?? true;
    this.maxInputCharsPerWord = opts.maxInputCharsPerWord ?? 100;
    if (!Number.isInteger(this.maxInputCharsPerWord) || this.maxInputCharsPerWord < 1) {
      throw argError("maxInputCharsPerWord", `expected a positive integer, got ${opts.maxInputCharsPerWord}`);
    }
    this.specialRe = new RegExp(`(${SPECIAL_TOKENS.map((t) => t.replace(/[[\]]/g, "\\$&")).join("|")})`);
  }

  /** Reads a vocab.txt: one token per line, id = line number - 1. */
  static fromVocabFile(file: string, opts: BertTokenizerOptions = {}): BertTokenizer {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (e) {
      throw fileError(file, undefined, `cannot read the vocabulary (${(e as Error).message})`);
    }
    const lines = text.split("\n");
    if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
    if (lines.length === 0) throw fileError(file, undefined, "empty vocabulary (expected one WordPiece token per line)");
    const tokens = lines.map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
    return new BertTokenizer(tokens, opts, file);
  }

  /** A tokenizer from an in-memory token list (index = id). */
  static fromVocab(tokens: readonly string[], opts: BertTokenizerOptions = {}, source = "<vocabulary>"): BertTokenizer {
    if (tokens.length === 0) throw argError("tokens", "empty vocabulary");
    return new BertTokenizer([...tokens], opts, source);
  }

  /**
   * A Hugging Face model folder: vocab.txt, with do_lower_case / strip_accents / tokenize_chinese_chars taken from
   * tokenizer_config.json when present (uncased defaults otherwise).
   */
  static fromModelDir(dir: string): BertTokenizer {
    const opts: BertTokenizerOptions = {};
    const cfgFile = path.join(dir, "tokenizer_config.json");
    if (fs.existsSync(cfgFile)) {
      let cfg: Record<string, unknown>;
      try {
        cfg = JSON.parse(fs.readFileSync(cfgFile, "utf8"));
      } catch (e) {
        throw fileError(cfgFile, undefined, `invalid JSON (${(e as Error).message})`);
      }
      if (typeof cfg.do_lower_case === "boolean") opts.lowercase = cfg.do_lower_case;
      if (typeof cfg.strip_accents === "boolean") opts.stripAccents = cfg.strip_accents;
      if (typeof cfg.tokenize_chinese_chars === "boolean") opts.tokenizeChineseChars = cfg.tokenize_chinese_chars;
    }
    return BertTokenizer.fromVocabFile(path.join(dir, "vocab.txt"), opts);
  }

  /** The bert-base-uncased vocabulary shipped in models/vocab (shared by all uncased BERT miniatures). */
  static bertBaseUncased(): BertTokenizer {
    return BertTokenizer.fromVocabFile(path.join(modelsDir(), "vocab", "bert-base-uncased-vocab.txt"));
  }

  idOf(token: string): number {
    const id = this.vocab.get(token);
    if (id === undefined) throw new FtgeoError(`${this.source}: token ${JSON.stringify(token)} is not in the vocabulary`);
    return id;
  }

  hasToken(token: string): boolean {
    return this.vocab.has(token);
  }

  tokenOf(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw argError("id", `expected an integer token id in [0, ${this.vocabSize}), got ${id}`);
    }
    return this.tokens[id];
  }

  /** WordPiece tokens of `text` (no [CLS]/[SEP]). */
  tokenize(text: string): string[] {
    return this.encode(text).map((id) => this.tokens[id]);
  }

  /** Token ids of `text`; with addSpecialTokens, wrapped as [CLS] ... [SEP] like Hugging Face's encode(). */
  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    const out: number[] = opts.addSpecialTokens ? [this.clsId] : [];
    this.appendIds(text, out);
    if (opts.addSpecialTokens) out.push(this.sepId);
    return out;
  }

  /**
   * Ids of one pre-split word (possibly several pieces; possibly none, when the word is only control characters
   * or combining marks). The returned array is shared with the cache: do not modify it.
   */
  wordIds(word: string): readonly number[] {
    const cached = this.chunkCache.get(word);
    if (cached !== undefined) return cached;
    const out: number[] = [];
    this.appendIds(word, out);
    // A plain word was cached as its own chunk by appendIds already.
    const again = this.chunkCache.get(word);
    if (again !== undefined) return again;
    this.remember(word, out);
    return out;
  }

  private remember(key: string, ids: readonly number[]): void {
    if (this.chunkCache.size >= CACHE_LIMIT) this.chunkCache.clear();
    this.chunkCache.set(key, ids);
  }

  private appendIds(text: string, out: number[]): void {
    if (text.indexOf("[") < 0) {
      this.appendPlain(text, out);
      return;
    }
    // Special tokens are matched verbatim (case-sensitive) in the raw text before any normalisation.
    const parts = text.split(this.specialRe);
    for (let i = 0; i < parts.length; i++) {
      if (i % 2 === 1) out.push(this.vocab.get(parts[i])!);
      else if (parts[i] !== "") this.appendPlain(parts[i], out);
    }
  }

  /** Cleans, splits on whitespace and around CJK ideographs, then tokenizes each chunk (cached). */
  private appendPlain(text: string, out: number[]): void {
    // The chunk being built is `pending` + text[segStart, i): slices, not per-character concatenation, so a word
    // without spaces or dropped characters is passed on as the very same string (one cache lookup, no copies).
    let pending = "";
    let segStart = 0;
    const flush = (chunk: string): void => {
      if (chunk === "") return;
      let ids = this.chunkCache.get(chunk);
      if (ids === undefined) {
        ids = this.tokenizeChunk(chunk);
        this.remember(chunk, ids);
      }
      for (let k = 0; k < ids.length; k++) out.push(ids[k]);
    };
    const breaksMask = SPACE | DROP | (this.tokenizeChineseChars ? CJK : 0);
    for (let i = 0; i < text.length; i++) {
      let cp = text.charCodeAt(i);
      // Printable ASCII (letters, digits, punctuation): the overwhelmingly common case.
      if (cp > 32 && cp < 127) continue;
      const charStart = i;
      if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < text.length) {
        const lo = text.charCodeAt(i + 1);
        if (lo >= 0xdc00 && lo <= 0xdfff) {
          cp = (cp - 0xd800) * 0x400 + (lo - 0xdc00) + 0x10000;
          i++;
        }
      }
      const c = charClass(cp);
      if ((c & breaksMask) === 0) continue;
      pending += text.slice(segStart, charStart);
      segStart = i + 1;
      if (c & SPACE) {
        flush(pending);
        pending = "";
      } else if (c & DROP) {
        continue;
      } else {
        flush(pending);
        pending = "";
        flush(text.slice(charStart, i + 1));
      }
    }
    flush(segStart === 0 ? text : pending + text.slice(segStart));
  }

  /** One whitespace-free, cleaned chunk: normalise, split off punctuation, WordPiece each piece. */
  private tokenizeChunk(chunk: string): number[] {
    const norm = this.normalize(chunk);
    const ids: number[] = [];
    let start = 0;
    for (let i = 0; i < norm.length; ) {
      const cp = norm.codePointAt(i)!;
      const w = cp > 0xffff ? 2 : 1;
      if (charClass(cp) & PUNCT) {
        if (i > start) this.wordPiece(norm.slice(start, i), ids);
        this.wordPiece(norm.slice(i, i + w), ids);
        start = i + w;
      }
      i += w;
    }
    if (start < norm.length) this.wordPiece(norm.slice(start), ids);
    return ids;
  }

  /** Accent stripping (NFD, drop Mn) then lower-casing one code point at a time, in the fast tokenizer's order. */
  private normalize(chunk: string): string {
    let ascii = true;
    for (let i = 0; i < chunk.length; i++) {
      if (chunk.charCodeAt(i) > 127) {
        ascii = false;
        break;
      }
    }
    if (ascii) return this.lowercase ? chunk.toLowerCase() : chunk;
    let s = chunk;
    if (this.stripAccents) {
      s = s.normalize("NFD");
      let kept = "";
      for (const ch of s) if (!(charClass(ch.codePointAt(0)!) & MARK)) kept += ch;
      s = kept;
    }
    if (this.lowercase) {
      // Per code point: String.toLowerCase on a whole word applies the final-sigma rule (Σ -> ς at word end).
      let lower = "";
      for (const ch of s) lower += ch.toLowerCase();
      s = lower;
    }
    return s;
  }

  /** Greedy longest-match-first WordPiece; a word with any unmatched remainder becomes a single [UNK]. */
  private wordPiece(word: string, out: number[]): void {
    const n = word.length;
    if (n > this.maxInputCharsPerWord) {
      let codePoints = 0;
      for (let i = 0; i < n; i++) {
        const u = word.charCodeAt(i);
        if (!(u >= 0xdc00 && u <= 0xdfff && i > 0 && isHigh(word.charCodeAt(i - 1)))) codePoints++;
      }
      if (codePoints > this.maxInputCharsPerWord) {
        out.push(this.unkId);
        return;
      }
    }
    const first = out.length;
    let start = 0;
    while (start < n) {
      let end = Math.min(n, start + this.maxPieceUnits);
      let id: number | undefined;
      for (; end > start; end--) {
        // Never cut a surrogate pair: pieces are whole code points.
        if (end < n && isLow(word.charCodeAt(end)) && isHigh(word.charCodeAt(end - 1))) continue;
        const piece = start > 0 ? "##" + word.slice(start, end) : word.slice(start, end);
        id = this.vocab.get(piece);
        if (id !== undefined) break;
      }
      if (id === undefined) {
        out.length = first;
        out.push(this.unkId);
        return;
      }
      out.push(id);
      start = end;
    }
  }
}

function isHigh(u: number): boolean {
  return u >= 0xd800 && u <= 0xdbff;
}

function isLow(u: number): boolean {
  return u >= 0xdc00 && u <= 0xdfff;
}
