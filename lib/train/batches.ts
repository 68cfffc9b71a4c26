/**
 * Batches for fine-tuning and evaluation: sentences become [CLS] pieces... [SEP] id rows (lib/tokenize/align.ts:
 * windows for sentences longer than the model's maximum) padded to the batch's longest, and each example becomes
 * the flat positions of its word's sub-words, mean-pooled by the head.
 *
 * A batch holds sentences, not examples: the encoder runs once per sentence however many examples it carries
 * (pos: one per word), which is how token-level fine-tuning is done in practice; the loss is the mean over all
 * examples of the batch. Order: a seeded permutation of the training sentences per epoch, a pure function of
 * (seed, epoch), so the update number alone tells a resumed run where it is.
 */
import type { Split, Task, TaskKind } from "../tasks/types";
import type { BertTokenizer } from "../tokenize/wordpiece";
import { alignSentence, AlignedSentence, RowSpan, WordPooling, wordPooling } from "../tokenize/align";
import { Rng } from "../util/rng";

export interface TaskBatch {
  kind: TaskKind;
  /** Model rows: one per sentence, or more for a sentence longer than the model's maximum (windows). */
  rows: number;
  seqLen: number;
  /** [rows * seqLen] row-major, padded with [PAD]. */
  inputIds: Int32Array;
  /** [rows * seqLen], 1 for real tokens. */
  attentionMask: Int32Array;
  /** Mean-pooling positions of each example's (first) word in the flattened [rows * seqLen] states; [CLS] rows for sentence tasks. */
  first: WordPooling;
  /** The head word of pair tasks. */
  second?: WordPooling;
  labels: Int32Array;
  numExamples: number;
  /** Non-padding tokens. */
  tokens: number;
}

export class SplitBatches {
  readonly aligned: AlignedSentence[];
  /** Sentences that carry at least one example, in data order. */
  readonly sentences: number[];
  /** Examples (indices into split.examples) by sentence. */
  private readonly bySentence = new Map<number, number[]>();
  private readonly padId: number;
  private grouped: number[][] = [];
  private groupedKey = "";

  /** `limit`: use only the first `limit` sentences that carry examples (quick runs and tests). */
  constructor(readonly task: Task, readonly split: Split, tokenizer: BertTokenizer, readonly maxLength: number, limit?: number) {
    this.padId = tokenizer.padId;
    split.examples.forEach((ex, i) => {
      let list = this.bySentence.get(ex.sentence);
      if (!list) this.bySentence.set(ex.sentence, (list = []));
      list.push(i);
    });
    let sentences = [...this.bySentence.keys()].sort((a, b) => a - b);
    if (limit !== undefined && limit < sentences.length) {
      sentences = sentences.slice(0, limit);
      const keep = new Set(sentences);
      for (const s of [...this.bySentence.keys()]) if (!keep.has(s)) this.bySentence.delete(s);
    }
    this.sentences = sentences;
    const aligned: AlignedSentence[] = new Array(split.sentences.length);
    for (const s of sentences) aligned[s] = alignSentence(tokenizer, split.sentences[s], { maxLength });
    this.aligned = aligned;
  }

  /** Examples this object batches (all of the split's, or those of the first `limit` sentences). */
  get numExamples(): number {
    let n = 0;
    for (const list of this.bySentence.values()) n += list.length;
    return n;
  }

  /** Number of batches of `batchSize` sentences in one pass (the last may be smaller). */
  batchesPerEpoch(batchSize: number): number {
    return Math.ceil(this.sentences.length / batchSize);
  }

  /**
   * The sentences of batch `index` of training epoch `epoch` (0-based) under `seed`.
   * With `groupByLength` (Hugging Face Trainer's group_by_length), the epoch's random order is cut into chunks of
   * 50 batches, each chunk is sorted by length before being cut into batches, and the batches are shuffled: every
   * batch is still random, but holds sentences of similar length, so far less padding is computed.
   */
  trainBatchSentences(seed: number, epoch: number, index: number, batchSize: number, groupByLength = false): number[] {
    const order = epochOrder(this.sentences.length, seed, epoch);
    if (!groupByLength) return order.slice(index * batchSize, (index + 1) * batchSize).map((i) => this.sentences[i]);
    const key = `${seed}/${epoch}/${batchSize}`;
    if (this.groupedKey !== key) {
      const batches: number[][] = [];
      const chunk = 50 * batchSize;
      const len = (i: number) => this.aligned[this.sentences[i]].windows[0].length;
      for (let c = 0; c < order.length; c += chunk) {
        const part = order.slice(c, c + chunk).sort((a, b) => len(b) - len(a) || a - b);
        for (let k = 0; k < part.length; k += batchSize) batches.push(part.slice(k, k + batchSize));
      }
      new Rng(mixSeed(seed, 0xb0c7, epoch)).shuffle(batches);
      this.grouped = batches;
      this.groupedKey = key;
    }
    return this.grouped[index].map((i) => this.sentences[i]);
  }

  /** Evaluation batches: all sentences in data order. */
  *evalBatches(batchSize: number): Generator<number[]> {
    for (let i = 0; i < this.sentences.length; i += batchSize) yield this.sentences.slice(i, i + batchSize);
  }

  makeBatch(sentenceIds: number[]): TaskBatch {
    const kind = this.task.kind;
    const rowIds: number[][] = [];
    const firstRow = new Map<number, number>();
    for (const s of sentenceIds) {
      firstRow.set(s, rowIds.length);
      rowIds.push(...this.aligned[s].windows);
    }
    const seqLen = Math.max(...rowIds.map((r) => r.length));
    const R = rowIds.length;
    const inputIds = new Int32Array(R * seqLen).fill(this.padId);
    const attentionMask = new Int32Array(R * seqLen);
    let tokens = 0;
    rowIds.forEach((r, b) => {
      inputIds.set(r, b * seqLen);
      attentionMask.fill(1, b * seqLen, b * seqLen + r.length);
      tokens += r.length;
    });
    const spanOf = (s: number, word: number): RowSpan => {
      const w = this.aligned[s].spans[word];
      return { row: firstRow.get(s)! + w.window, start: w.start, end: w.end };
    };
    const first: RowSpan[] = [];
    const second: RowSpan[] = [];
    const labels: number[] = [];
    for (const s of sentenceIds) {
      for (const i of this.bySentence.get(s) ?? []) {
        const ex = this.split.examples[i];
        labels.push(ex.label);
        if (kind === "sentence") first.push({ row: firstRow.get(s)!, start: 0, end: 1 }); // the [CLS] vector
        else first.push(spanOf(s, ex.targets[0]));
        if (kind === "pair") second.push(spanOf(s, ex.targets[1]));
      }
    }
    return {
      kind,
      rows: R,
      seqLen,
      inputIds,
      attentionMask,
      first: wordPooling(first, seqLen),
      second: kind === "pair" ? wordPooling(second, seqLen) : undefined,
      labels: Int32Array.from(labels),
      numExamples: labels.length,
      tokens,
    };
  }
}

/** A seeded permutation of 0..n-1 for one epoch: a pure function of (seed, epoch). */
export function epochOrder(n: number, seed: number, epoch: number): number[] {
  return new Rng(mixSeed(seed, 0x0da7a, epoch)).permutation(n);
}

/** A 32-bit seed for one purpose and index derived from the run's seed (independent streams, no shared state). */
export function mixSeed(seed: number, purpose: number, index: number): number {
  let h = (seed >>> 0) ^ Math.imul(purpose, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) ^ Math.imul(index + 1, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 13), 0x297a2d39);
  return (h ^ (h >>> 16)) >>> 0;
}
