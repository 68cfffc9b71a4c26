import { test } from "node:test";
import * as assert from "node:assert/strict";
import { exampleRows, toDataFrame } from "../lib/tasks/frame";
import { taskFromRows } from "../lib/tasks/user";
import { FtgeoError } from "../lib/util/errors";

const task = taskFromRows("arcs", [
  { tokens: "the cat sat", targets: [1, 2], label: "nsubj", id: "s1" },
  { tokens: "the cat sat", targets: [0, 1], label: "det", id: "s1" },
  { tokens: "a dog ran", targets: [0, 1], label: "det", split: "test", id: "s2" },
]);

test("exampleRows: one row per example with sentence id, words, target words and label; offset and limit", () => {
  assert.deepEqual(exampleRows(task, "train"), [
    { sentence_id: "s1", words: "the cat sat", targets: "1 2", target_words: "cat -> sat", label: "nsubj" },
    { sentence_id: "s1", words: "the cat sat", targets: "0 1", target_words: "the -> cat", label: "det" },
  ]);
  assert.deepEqual(exampleRows(task, "train", { offset: 1, limit: 5 }).map((r) => r.label), ["det"]);
  assert.throws(() => exampleRows(task, "dev"), (e: Error) => e instanceof FtgeoError && e.message === 'argument split: task arcs has no split "dev" (expected one of: train, test)');
  assert.throws(() => exampleRows(task, "train", { limit: -1 }), /argument limit: expected a non-negative integer/);
});

test("toDataFrame: a danfo DataFrame with the same rows (danfojs-node loaded only here)", () => {
  assert.ok(!Object.keys(require.cache).some((k) => k.includes(`${"/"}danfojs-node${"/"}`)), "danfo not loaded before toDataFrame");
  const df = toDataFrame(task, "train", { limit: 2 });
  assert.deepEqual(df.shape, [2, 5]);
  assert.deepEqual(df.columns, ["sentence_id", "words", "targets", "target_words", "label"]);
  assert.deepEqual(df["label"].values, ["nsubj", "det"]);
  assert.deepEqual(df["target_words"].values, ["cat -> sat", "the -> cat"]);
  const empty = toDataFrame(task, "test", { limit: 0 });
  assert.deepEqual(empty.columns, ["sentence_id", "words", "targets", "target_words", "label"]);
});
