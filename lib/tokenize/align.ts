/**
 * From pre-split words to model rows: sub-word ids wrapped in [CLS] ... [SEP], each word's sub-word span, windows
 * for sentences longer than the model's maximum, length-sorted padded batches, and the gather/weight tables that
 * pool a word's sub-word vectors into its mean (computed inside tfjs, so it stays differentiable).
 */
import type { BertTokenizer } from "./wordpiece";
import { argError } from "../util/errors";

export interface AlignOptions {
  /** Longest row the model accepts, [CLS] and [SEP] included (BERT: max_position_embeddings). */
  maxLength: number;
  /**
   * Sub-word pieces shared by consecutive windows of a long sentence. Default: half a window, so every word of a
   * long sentence sees at least a quarter window of context on each side unless it is near a sentence end.
   */
  stride?: number;
}

/** A word's place: which window (row) of its sentence and its pieces [start, end) in that row's ids. */
export interface WordSpan {
  window: number;
  start: number;
  end: number;
}

export interface AlignedSentence {
  /** Model rows of this sentence: one, or several overlapping windows. Each is [CLS] pieces... [SEP]. */
  windows: number[][];
  /** The words [first, last) each window holds. */
  windowWords: [number, number][];
  /** One span per input word, in the window where the word has the most context on both sides. */
  spans: WordSpan[];
  /** Sub-word pieces of the sentence (without [CLS]/[SEP] and window overlaps). */
  numPieces: number;
  /** Words whose pieces did not fit in one window and were cut to the first maxLength - 2 (practically never). */
  truncatedWords: number;
}

/**
 * Aligns one pre-split sentence. A word that yields no pieces (only control characters or combining marks) is
 * represented by [UNK], so every word gets a span and a vector.
 */
export function alignSentence(tokenizer: BertTokenizer, words: readonly string[], opts: AlignOptions): AlignedSentence {
  const maxLength = opts.maxLength;
  if (!Number.isInteger(maxLength) || maxLength < 3) {
    throw argError("maxLength", `expected an integer >= 3 ([CLS], one piece, [SEP]), got ${maxLength}`);
  }
  const room = maxLength - 2;
  const stride = opts.stride ?? Math.floor(room / 2);
  if (!Number.isInteger(stride) || stride < 0 || stride >= room) {
    throw argError("stride", `expected an integer in [0, ${room}) (pieces shared by consecutive windows), got ${stride}`);
  }
  const pieces: (readonly number[])[] = [];
  let truncatedWords = 0;
  // offsets[w] = index of word w's first piece in the sentence's piece sequence.
  const offsets = new Int32Array(words.length + 1);
  for (let w = 0; w < words.length; w++) {
    let p = tokenizer.wordIds(words[w]);
    if (p.length === 0) p = [tokenizer.unkId];
    if (p.length > room) {
      p = p.slice(0, room);
      truncatedWords++;
    }
    pieces.push(p);
    offsets[w + 1] = offsets[w] + p.length;
  }
  const numPieces = offsets[words.length];
  const row = (from: number, to: number): number[] => {
    const ids = [tokenizer.clsId];
    for (let w = from; w < to; w++) for (const id of pieces[w]) ids.push(id);
    ids.push(tokenizer.sepId);
    return ids;
  };
  if (numPieces <= room) {
    return {
      windows: [row(0, words.length)],
      windowWords: [[0, words.length]],
      spans: words.map((_, w) => ({ window: 0, start: 1 + offsets[w], end: 1 + offsets[w + 1] })),
      numPieces,
      truncatedWords,
    };
  }

  // Windows hold whole words: [first, last) word ranges, each as many words as fit, consecutive ones sharing
  // about `stride` pieces, always advancing by at least one word.
  const ranges: [number, number][] = [];
  let first = 0;
  for (;;) {
    let last = first + 1;
    while (last < words.length && offsets[last + 1] - offsets[first] <= room) last++;
    ranges.push([first, last]);
    if (last === words.length) break;
    let next = first + 1;
    while (next < last && offsets[last] - offsets[next] > stride) next++;
    first = next;
  }
  // A word's vector comes from the window where min(left, right) context is largest (BERT's SQuAD rule, with the
  // same small bonus for longer windows to break ties).
  const spans: WordSpan[] = new Array(words.length);
  const best = new Float64Array(words.length).fill(-1);
  ranges.forEach(([a, z], k) => {
    const len = offsets[z] - offsets[a];
    for (let w = a; w < z; w++) {
      const left = offsets[w] - offsets[a];
      const right = offsets[z] - offsets[w + 1];
      const score = Math.min(left, right) + 0.01 * len;
      if (score > best[w]) {
        best[w] = score;
        spans[w] = { window: k, start: 1 + left, end: 1 + left + pieces[w].length };
      }
    }
  });
  return { windows: ranges.map(([a, z]) => row(a, z)), windowWords: ranges, spans, numPieces, truncatedWords };
}

/** One model input row of a batch plan: sentence `sentence`, its window `window`, and the row's length. */
export interface PlannedRow {
  sentence: number;
  window: number;
  length: number;
}

/**
 * Groups rows into batches by length (longest first, so the first batch shows the peak memory at once) so that
 * padding is small: at most `batchSize` rows and at most `maxTokens` padded tokens per batch. `keep` can leave out
 * rows nobody needs (e.g. a window whose words all take their vectors from other windows).
 */
export function planBatches(
  aligned: readonly AlignedSentence[],
  batchSize: number,
  maxTokens = Infinity,
  keep: (sentence: number, window: number) => boolean = () => true,
): PlannedRow[][] {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw argError("batchSize", `expected a positive integer, got ${batchSize}`);
  const rows: PlannedRow[] = [];
  aligned.forEach((a, s) =>
    a.windows.forEach((ids, k) => {
      if (keep(s, k)) rows.push({ sentence: s, window: k, length: ids.length });
    }),
  );
  rows.sort((x, y) => y.length - x.length || x.sentence - y.sentence || x.window - y.window);
  const batches: PlannedRow[][] = [];
  let cur: PlannedRow[] = [];
  for (const r of rows) {
    // Rows arrive longest first, so the batch's padded length is its first row's length.
    const padded = cur.length > 0 ? cur[0].length : r.length;
    if (cur.length > 0 && (cur.length >= batchSize || (cur.length + 1) * padded > maxTokens)) {
      batches.push(cur);
      cur = [];
    }
    cur.push(r);
  }
  if (cur.length > 0) batches.push(cur);
  return batches;
}

export interface PaddedBatch {
  batchSize: number;
  seqLen: number;
  /** [batchSize * seqLen] row-major ids, padded with [PAD]. */
  inputIds: Int32Array;
  /** [batchSize * seqLen]: 1 for real tokens, 0 for padding. */
  attentionMask: Int32Array;
  /** Real (non-padding) tokens. */
  tokens: number;
}

/** Pads rows of ids to the longest one. */
export function padRows(rows: readonly (readonly number[])[], padId: number): PaddedBatch {
  if (rows.length === 0) throw argError("rows", "a batch needs at least one row");
  let seqLen = 0;
  for (const r of rows) seqLen = Math.max(seqLen, r.length);
  const inputIds = new Int32Array(rows.length * seqLen).fill(padId);
  const attentionMask = new Int32Array(rows.length * seqLen);
  let tokens = 0;
  rows.forEach((r, b) => {
    inputIds.set(r, b * seqLen);
    attentionMask.fill(1, b * seqLen, b * seqLen + r.length);
    tokens += r.length;
  });
  return { batchSize: rows.length, seqLen, inputIds, attentionMask, tokens };
}

/** A sub-word span located in a padded batch: its row and [start, end) within the row. */
export interface RowSpan {
  row: number;
  start: number;
  end: number;
}

/**
 * Mean pooling as gather positions and weights: word j is sum_k weight[j*pieces + k] * H[index[j*pieces + k]] over
 * the batch's flattened [batchSize * seqLen, hidden] states. Unused slots point at position 0 with weight 0, so they
 * add nothing to the value or the gradient. `pieces` is the longest span.
 */
export interface WordPooling {
  numWords: number;
  pieces: number;
  index: Int32Array;
  weight: Float32Array;
}

export function wordPooling(spans: readonly RowSpan[], seqLen: number): WordPooling {
  let pieces = 1;
  for (const s of spans) {
    if (!(s.end > s.start && s.start >= 0 && s.end <= seqLen)) {
      throw argError("spans", `span [${s.start}, ${s.end}) of row ${s.row} is empty or outside a row of ${seqLen} tokens`);
    }
    pieces = Math.max(pieces, s.end - s.start);
  }
  const index = new Int32Array(spans.length * pieces);
  const weight = new Float32Array(spans.length * pieces);
  spans.forEach((s, j) => {
    const n = s.end - s.start;
    for (let k = 0; k < n; k++) {
      index[j * pieces + k] = s.row * seqLen + s.start + k;
      weight[j * pieces + k] = 1 / n;
    }
  });
  return { numWords: spans.length, pieces, index, weight };
}

/**
 * The same pooling as a dense [numWords, rows * seqLen] matrix M (word vectors = M x flattened states). Simple to
 * reason about and differentiable with a single matMul, but quadratic in batch size: prefer wordPooling for big
 * batches.
 */
export function wordPoolingMatrix(spans: readonly RowSpan[], seqLen: number, rows: number): Float32Array {
  const cols = rows * seqLen;
  const m = new Float32Array(spans.length * cols);
  spans.forEach((s, j) => {
    if (!(s.end > s.start && s.start >= 0 && s.end <= seqLen && s.row >= 0 && s.row < rows)) {
      throw argError("spans", `span [${s.start}, ${s.end}) of row ${s.row} is empty or outside ${rows} rows of ${seqLen}`);
    }
    for (let p = s.start; p < s.end; p++) m[j * cols + s.row * seqLen + p] = 1 / (s.end - s.start);
  });
  return m;
}
