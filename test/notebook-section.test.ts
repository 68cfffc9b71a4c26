/** lib/notebook/section: the plan table, the run note, mean ± std cells and the comparison table's text. */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { paperBudget, quickBudget } from "../lib/analysis/budget";
import type { ResultMeta } from "../lib/analysis/results";
import { meanStd, planRows, runNote } from "../lib/notebook/section";
import { tableText } from "../lib/notebook/table";

test("meanStd: percent with the given digits; a missing std reads as 0", () => {
  assert.equal(meanStd({ mean: 0.8775, std: 0.0031 }), "87.75 ± 0.31");
  assert.equal(meanStd({ mean: 0.5, std: NaN }, 1), "50.0 ± 0.0");
  assert.equal(meanStd({ mean: NaN, std: 0 }), "NaN");
});

test("planRows: all-model sections list models and tasks; single-model sections name their model and task", () => {
  const b = paperBudget();
  const all = tableText(planRows(b, ["memorisation"]));
  assert.match(all, /models\s+BERT-tiny \(google\/bert_uncased_L-2_H-128_A-2\), .*BERT-base \(bert-base-uncased\)/);
  assert.match(all, /tasks\s+pos, dep, ps-role, ps-fxn, trec50/);
  assert.match(all, /the paper's epochs/);
  assert.match(all, /memorisation experiment\s+BERT-small .* on ps-fxn/);
  const cross = planRows(b, ["crossTask"]);
  assert.deepEqual(cross.slice(1, 4).map((r) => r.setting), ["model", "fine-tuned on", "probed on"]);
  assert.ok(!cross.some((r) => r.setting === "models"), "no model list for a single-model section");
  const q = quickBudget();
  const spatial = tableText(planRows(q, ["spatial"]));
  assert.match(spatial, new RegExp(`task\\s+${q.spatial.task}`));
  assert.match(spatial, /train 1200, dev 200, test 400|train \d+, dev \d+, test \d+/);
});

test("runNote: says whether the result was computed now or read, and where it is stored", () => {
  const meta = { timings: { finetune: 61.5, probe: 3, total: 70 }, fromCache: false, file: "/c/results/4.1/quick/ab.json", createdAt: "2026-01-01T00:00:00Z" } as unknown as ResultMeta;
  assert.equal(runNote(meta), "Computed in 1m10s (finetune 1m01s, probe 3.0s) and stored in `/c/results/4.1/quick/ab.json`: re-running this notebook (also after a kernel restart) reads it.");
  assert.match(runNote({ ...meta, fromCache: true }), /^Read from the results cache `\/c\/results\/4\.1\/quick\/ab\.json` \(computed 2026-01-01T00:00:00Z in 1m10s/);
});
