/**
 * A task is a labelled set of examples over tokenised sentences. Examples point into their split's sentence list
 * so that the encoder runs once per sentence, however many examples the sentence holds (pos: one per word).
 */
export type TaskKind = "token" | "pair" | "sentence";

export interface Example {
  /** Index into Split.sentences. */
  sentence: number;
  /**
   * 0-based word positions in the sentence: [i] for token tasks, [dependent, head] for pair tasks,
   * [] for sentence tasks (the [CLS] vector).
   */
  targets: number[];
  /** Index into Task.labels. */
  label: number;
}

export interface Split {
  name: string;
  /** Pre-split words of each sentence, as written in the data. */
  sentences: string[][];
  /** Identifier of each sentence in its source file (sent_id, line number, ...). */
  sentenceIds: string[];
  examples: Example[];
}

export interface Task {
  name: string;
  kind: TaskKind;
  /** Label inventory: every label of every split, sorted; Example.label indexes it. */
  labels: string[];
  /** Splits by name: train, dev, test (TREC has no dev). */
  splits: Record<string, Split>;
  /** Where the data came from (paths), for reports. */
  source: string;
}
