/**
 * Batches for fine-tuning and evaluation: sentences become [CLS] pieces... [SEP] id rows padded to the batch's
 * longest, and each example becomes the flat positions of its word's sub-words (mean-pooled by the head).
 *
 * A batch holds sentences, not examples: the encoder runs once per sentence however many examples it carries
 * (pos: one per word), which is how token-level fine-tuning is done in practice; the loss is the mean over all
 * examples of the batch. Order: a seeded permutation of the training sentences per epoch, a pure function of
 * (seed, epoch), so the update number alone tells a resumed run where it is.
 */
import type { Split, Task, TaskKind } from "../tasks/types";
import type { BertTokenizer } from "../tokenize/wordpiece";
import { Rng } from "../util/rng";

export interface EncodedSentence {
  /** [CLS] pieces [SEP]. */
  ids: number[];
  /** Per word: [start, end) of its pieces in `ids`; [0, 0] when the word fell beyond the length limit. */
  spans: [number, number][];
}

/** Tokenise pre-split sentences, cutting at `maxLen` ids; words cut off get empty spans. */
export function encodeSentences(sentences: string[][], tokenizer: BertTokenizer, maxLen: number): EncodedSentence[] {
  return sentences.map((words) => {
    const ids = [tokenizer.clsId];
    const spans: [number, number][] = [];
    for (const w of words) {
      const pieces = tokenizer.wordIds(w);
      // A word with no pieces (only dropped characters) is represented by [UNK], so every word has a vector.
      const use = pieces.length > 0 ? pieces : [tokenizer.unkId];
      if (ids.length + use.length + 1 > maxLen) {
        spans.push([0, 0]);
        continue;
      }
      spans.push([ids.length, ids.length + use.length]);
      ids.push(...use);
    }
    ids.push(tokenizer.sepId);
    return { ids, spans };
  });
}

export interface TaskBatch {
  kind: TaskKind;
  batchSize: number;
  seqLen: number;
  /** [batchSize * seqLen] row-major, padded with [PAD]. */
  inputIds: Int32Array;
  /** [batchSize * seqLen], 1 for real tokens. */
  attentionMask: Int32Array;
  /** Sub-word slots per example and target: the longest word's piece count in the batch (1 for sentences). */
  pieces: number;
  /** [examples * pieces] positions in the flattened [batchSize * seqLen] rows, and their mean-pooling weights. */
  first: { index: Int32Array; weight: Float32Array };
  /** The second target (the head word) of pair tasks. */
  second?: { index: Int32Array; weight: Float32Array };
  labels: Int32Array;
  numExamples: number;
  /** Non-padding tokens. */
  tokens: number;
}

export class SplitBatches {
  readonly encoded: EncodedSentence[];
  /** Sentences that carry at least one usable example, in data order. */
  readonly sentences: number[];
  /** Examples (indices into split.examples) by sentence, usable ones only. */
  private readonly bySentence = new Map<number, number[]>();
  /** Examples whose words fell beyond the length limit: counted as wrong in accuracy. */
  readonly unusable: number;

  constructor(readonly task: Task, readonly split: Split, tokenizer: BertTokenizer, readonly maxLen: number) {
    this.encoded = encodeSentences(split.sentences, tokenizer, maxLen);
    let unusable = 0;
    split.examples.forEach((ex, i) => {
      const spans = this.encoded[ex.sentence].spans;
      if (ex.targets.some((t) => spans[t] === undefined || spans[t][1] === 0)) {
        unusable++;
        return;
      }
      let list = this.bySentence.get(ex.sentence);
      if (!list) this.bySentence.set(ex.sentence, (list = []));
      list.push(i);
    });
    this.unusable = unusable;
    this.sentences = [...this.bySentence.keys()].sort((a, b) => a - b);
  }

  get numExamples(): number {
    return this.split.examples.length;
  }

  /** Number of batches of `batchSize` sentences in one pass (the last may be smaller). */
  batchesPerEpoch(batchSize: number): number {
    return Math.ceil(this.sentences.length / batchSize);
  }

  /** The sentences of batch `index` of training epoch `epoch` (0-based) under `seed`. */
  trainBatchSentences(seed: number, epoch: number, index: number, batchSize: number): number[] {
    const order = epochOrder(this.sentences.length, seed, epoch);
    return order.slice(index * batchSize, (index + 1) * batchSize).map((i) => this.sentences[i]);
  }

  /** Evaluation batches: all usable sentences in data order. */
  *evalBatches(batchSize: number): Generator<number[]> {
    for (let i = 0; i < this.sentences.length; i += batchSize) yield this.sentences.slice(i, i + batchSize);
  }

  makeBatch(sentenceIds: number[]): TaskBatch {
    const kind = this.task.kind;
    const rows = sentenceIds.map((s) => this.encoded[s]);
    const seqLen = Math.max(...rows.map((r) => r.ids.length));
    const B = rows.length;
    const inputIds = new Int32Array(B * seqLen);
    const attentionMask = new Int32Array(B * seqLen);
    let tokens = 0;
    rows.forEach((r, b) => {
      inputIds.set(r.ids, b * seqLen);
      attentionMask.fill(1, b * seqLen, b * seqLen + r.ids.length);
      tokens += r.ids.length;
    });
    const exs: { sentence: number; row: number; targets: number[]; label: number }[] = [];
    sentenceIds.forEach((s, row) => {
      for (const i of this.bySentence.get(s) ?? []) {
        const ex = this.split.examples[i];
        exs.push({ sentence: s, row, targets: ex.targets, label: ex.label });
      }
    });
    let pieces = 1;
    if (kind !== "sentence") {
      for (const e of exs) {
        for (const t of e.targets) {
          const [a, z] = this.encoded[e.sentence].spans[t];
          pieces = Math.max(pieces, z - a);
        }
      }
    }
    const pool = (which: number) => {
      const index = new Int32Array(exs.length * pieces);
      const weight = new Float32Array(exs.length * pieces);
      exs.forEach((e, j) => {
        const base = e.row * seqLen;
        if (kind === "sentence") {
          index[j * pieces] = base; // the [CLS] vector
          weight[j * pieces] = 1;
          return;
        }
        const [a, z] = this.encoded[e.sentence].spans[e.targets[which]];
        for (let p = 0; p < z - a; p++) {
          index[j * pieces + p] = base + a + p;
          weight[j * pieces + p] = 1 / (z - a);
        }
        // Unused slots point at row 0 with weight 0: they contribute nothing to the value or the gradient.
      });
      return { index, weight };
    };
    return {
      kind,
      batchSize: B,
      seqLen,
      inputIds,
      attentionMask,
      pieces,
      first: pool(0),
      second: kind === "pair" ? pool(1) : undefined,
      labels: Int32Array.from(exs.map((e) => e.label)),
      numExamples: exs.length,
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
