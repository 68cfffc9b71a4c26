/**
 * Representation extraction: word vectors (mean of each word's sub-word vectors) and the [CLS] vector of every
 * requested layer, for pre-split sentences.
 *
 * Speed comes from batching rows of similar length (little padding) and reading each requested layer of a batch
 * back once (one dataSync per layer), then averaging sub-words in plain JS. Memory stays bounded: sentences are
 * processed in chunks whose output fits a byte budget, each forward pass runs in a tf.tidy and its states are
 * disposed as soon as they are read, and results are yielded chunk by chunk in input order.
 */
import * as tf from "@tensorflow/tfjs";
import type { BertModel } from "./bert";
import type { BertTokenizer } from "../tokenize/wordpiece";
import { alignSentence, padRows, planBatches, type AlignedSentence, type RowSpan, type WordPooling } from "../tokenize/align";
import { argError } from "../util/errors";
import { Progress, type ProgressSink } from "../util/progress";

export interface EncodeOptions {
  /** Rows (sentences or windows of long sentences) per forward pass. Default 32. */
  batchSize?: number;
  /** Padded tokens per forward pass at most (bounds attention memory for long rows). Default batchSize * 128. */
  maxTokensPerBatch?: number;
  /** Layers to return: 0 = embedding output, 1..L = transformer layers. Default all, in order. */
  layers?: number[];
  /** Longest row, [CLS]/[SEP] included. Default (and at most) the model's max_position_embeddings. */
  maxLength?: number;
  /** Pieces shared by consecutive windows of sentences longer than maxLength (default: half a window). */
  stride?: number;
  /** Output bytes buffered before a chunk of sentences is yielded. Default 256 MiB. */
  chunkBytes?: number;
  /** Progress reports (step = batch, rate in tokens/s); default: the process's default progress sink. */
  onProgress?: ProgressSink;
  /** Name shown in progress reports. Default "encode". */
  progressLabel?: string;
}

export interface SentenceEncoding {
  /** Position of the sentence in the input. */
  index: number;
  numWords: number;
  /** Per requested layer (in the order of `layers`): [numWords * hidden] row-major word vectors. */
  words: Float32Array[];
  /** Per requested layer: the [CLS] vector [hidden] (of the first window when the sentence was split). */
  cls: Float32Array[];
  /** Model rows the sentence needed (more than 1 when it was longer than maxLength). */
  windows: number;
}

export interface EncodeStats {
  sentences: number;
  words: number;
  /** Real tokens ([CLS]/[SEP] and window overlaps included, padding excluded) through the model. */
  tokens: number;
  /** Tokens including padding. */
  paddedTokens: number;
  batches: number;
  /** Time spent encoding (tokenization, forward passes, read-back), not the consumer's time between yields. */
  seconds: number;
  tokensPerSecond: number;
  /** Sentences longer than maxLength (split into windows) and words cut to fit a window. */
  windowedSentences: number;
  truncatedWords: number;
}

/**
 * Word vectors of the words located by `pooling` in the flattened states [rows * seqLen, hidden] of a batch: the
 * mean of each word's sub-word vectors. Differentiable (gather, multiply, sum), so a fine-tuning head can use it.
 * Mind that tfjs-backend-wasm 4.22's gather is slow (about 3 M floats/s): pool only the rows you need.
 */
export function poolWords(flat: tf.Tensor2D, pooling: WordPooling): tf.Tensor2D {
  return tf.tidy(() => {
    const H = flat.shape[1];
    const W = pooling.numWords;
    const K = pooling.pieces;
    if (W === 0) return tf.zeros([0, H]) as tf.Tensor2D;
    const rows = tf.gather(flat, tf.tensor1d(pooling.index, "int32")) as tf.Tensor2D; // [W*K, H]
    // With one piece per word every weight is exactly 1: the gathered rows are the word vectors.
    if (K === 1) return rows;
    const weighted = tf.mul(tf.reshape(rows, [W, K, H]), tf.tensor3d(pooling.weight, [W, K, 1]));
    return tf.sum(weighted, 1) as tf.Tensor2D;
  });
}

/** targets[j][offsets[j] .. + H) = mean of the rows of span j in a batch's states [rows * seqLen * H]. */
function meanPoolInto(
  data: Float32Array,
  seqLen: number,
  H: number,
  spans: readonly RowSpan[],
  targets: Float32Array[],
  offsets: number[],
): void {
  const acc = new Float64Array(H);
  for (let j = 0; j < spans.length; j++) {
    const { row, start, end } = spans[j];
    acc.fill(0);
    for (let p = start; p < end; p++) {
      const off = (row * seqLen + p) * H;
      for (let d = 0; d < H; d++) acc[d] += data[off + d];
    }
    const inv = 1 / (end - start);
    const target = targets[j];
    const at = offsets[j];
    for (let d = 0; d < H; d++) target[at + d] = acc[d] * inv;
  }
}

/**
 * Encodes pre-split sentences and yields, per sentence in input order, the word vectors and [CLS] vector of each
 * requested layer. The generator's return value (when iterated to the end) holds throughput statistics.
 */
export async function* encodeSentences(
  model: BertModel,
  tokenizer: BertTokenizer,
  sentences: readonly (readonly string[])[],
  opts: EncodeOptions = {},
): AsyncGenerator<SentenceEncoding, EncodeStats, undefined> {
  const cfg = model.config;
  const H = cfg.hidden_size;
  const L = cfg.num_hidden_layers;
  const batchSize = opts.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw argError("batchSize", `expected a positive integer, got ${opts.batchSize}`);
  const maxTokens = opts.maxTokensPerBatch ?? batchSize * 128;
  const maxLength = opts.maxLength ?? cfg.max_position_embeddings;
  if (!Number.isInteger(maxLength) || maxLength < 3 || maxLength > cfg.max_position_embeddings) {
    throw argError("maxLength", `expected an integer in [3, ${cfg.max_position_embeddings}] (the model's max_position_embeddings), got ${maxLength}`);
  }
  const layers = opts.layers ?? Array.from({ length: L + 1 }, (_, l) => l);
  for (const l of layers) {
    if (!Number.isInteger(l) || l < 0 || l > L) throw argError("layers", `layer ${l} does not exist: expected integers in [0, ${L}] (0 = embeddings)`);
  }
  if (layers.length === 0) throw argError("layers", "expected at least one layer");
  if (tokenizer.vocabSize > cfg.vocab_size) {
    throw argError("tokenizer", `vocabulary of ${tokenizer.vocabSize} tokens (${tokenizer.source}) is larger than the model's vocab_size ${cfg.vocab_size}`);
  }
  const chunkBytes = opts.chunkBytes ?? 256 * 1024 * 1024;
  const bytesPerWord = layers.length * H * 4;

  // Tokenize everything first (cheap, cached per word) so the total work is known for progress and ETA.
  const alignStart = Date.now();
  const aligned: AlignedSentence[] = sentences.map((s, i) => {
    if (!Array.isArray(s)) throw argError(`sentences[${i}]`, "expected an array of words");
    return alignSentence(tokenizer, s, { maxLength, stride: opts.stride });
  });
  const chunks: [number, number][] = [];
  for (let start = 0; start < aligned.length; ) {
    let end = start;
    let bytes = 0;
    while (end < aligned.length && (end === start || bytes + (aligned[end].spans.length + 1) * bytesPerWord <= chunkBytes)) {
      bytes += (aligned[end].spans.length + 1) * bytesPerWord;
      end++;
    }
    chunks.push([start, end]);
    start = end;
  }
  // Window 0 always runs (it gives the [CLS] vector); a later window only if some word takes its vector from it.
  const usedWindows = aligned.map((a) => {
    const used = new Set<number>([0]);
    for (const sp of a.spans) used.add(sp.window);
    return used;
  });
  const plans = chunks.map(([a, z]) => planBatches(aligned.slice(a, z), batchSize, maxTokens, (s, k) => usedWindows[a + s].has(k)));
  const totalBatches = plans.reduce((n, p) => n + p.length, 0);
  const progress = new Progress(opts.progressLabel ?? "encode", totalBatches, "tokens", opts.onProgress);
  const stats: EncodeStats = {
    sentences: sentences.length,
    words: aligned.reduce((n, a) => n + a.spans.length, 0),
    tokens: 0,
    paddedTokens: 0,
    batches: totalBatches,
    seconds: 0,
    tokensPerSecond: 0,
    windowedSentences: aligned.filter((a) => a.windows.length > 1).length,
    truncatedWords: aligned.reduce((n, a) => n + a.truncatedWords, 0),
  };
  // Time spent encoding (tokenization included), excluding the consumer's work between yields.
  let busyMs = Date.now() - alignStart;
  let batchNo = 0;

  for (let c = 0; c < chunks.length; c++) {
    const [first, last] = chunks[c];
    const out: SentenceEncoding[] = [];
    for (let s = first; s < last; s++) {
      const n = aligned[s].spans.length;
      out.push({
        index: s,
        numWords: n,
        words: layers.map(() => new Float32Array(n * H)),
        cls: layers.map(() => new Float32Array(H)),
        windows: aligned[s].windows.length,
      });
    }
    for (const batch of plans[c]) {
      const t0 = Date.now();
      const padded = padRows(
        batch.map((r) => aligned[first + r.sentence].windows[r.window]),
        tokenizer.padId,
      );
      const S = padded.seqLen;
      const spans: RowSpan[] = [];
      const dest: { sentence: number; word: number }[] = [];
      const clsRows: number[] = [];
      const clsDest: number[] = [];
      batch.forEach((r, b) => {
        const a = aligned[first + r.sentence];
        a.spans.forEach((sp, w) => {
          if (sp.window !== r.window) return;
          spans.push({ row: b, start: sp.start, end: sp.end });
          dest.push({ sentence: r.sentence, word: w });
        });
        if (r.window === 0) {
          clsRows.push(b * S);
          clsDest.push(r.sentence);
        }
      });
      const states = tf.tidy(() => {
        const ids = tf.tensor2d(padded.inputIds, [padded.batchSize, S], "int32");
        const mask = tf.tensor2d(padded.attentionMask, [padded.batchSize, S], "int32");
        const all = model.forward(ids, mask);
        return layers.map((l) => all[l]);
      });
      // Pooling happens here rather than in tfjs: the wasm backend's gather moves ~3 M floats/s, while reading a
      // layer back is a memory copy and the means cost one pass over the batch's real tokens.
      try {
        for (let li = 0; li < layers.length; li++) {
          const data = states[li].dataSync() as Float32Array;
          states[li].dispose();
          meanPoolInto(data, S, H, spans, dest.map((d) => out[d.sentence].words[li]), dest.map((d) => d.word * H));
          for (let j = 0; j < clsRows.length; j++) {
            out[clsDest[j]].cls[li].set(data.subarray(clsRows[j] * H, (clsRows[j] + 1) * H));
          }
        }
      } finally {
        for (const t of states) t.dispose();
      }
      busyMs += Date.now() - t0;
      stats.tokens += padded.tokens;
      stats.paddedTokens += padded.batchSize * S;
      batchNo++;
      progress.update(batchNo, padded.tokens, { sentences: first });
    }
    for (const v of out) yield v;
  }
  stats.seconds = busyMs / 1000;
  stats.tokensPerSecond = stats.seconds > 0 ? stats.tokens / stats.seconds : 0;
  progress.finish(batchNo, { sentences: sentences.length });
  return stats;
}
