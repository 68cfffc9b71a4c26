/** Notebook helpers that need no kernel: tables, budget selection, progress rendering, the console fallback. */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import {
  byBudget,
  chartBundle,
  display,
  inNotebook,
  notebookProgressSink,
  parseBudget,
  progressHtml,
  selectBudget,
  showTable,
  tableHtml,
  tableMarkdown,
  tableText,
  VEGALITE_MIME,
} from "../lib/notebook";
import { barChart } from "../lib/figures";
import { FtgeoError } from "../lib/util/errors";

const rows = [
  { task: "pos", acc: 0.97125, n: 204585, note: "a|b <i>" },
  { task: "dep", acc: 0.9, n: 192042 },
];

test("tableHtml: escaped cells, numbers right-aligned with fixed decimals, missing cells empty, caption", () => {
  const html = tableHtml(rows, { digits: 2, caption: "Accuracy & size" });
  assert.match(html, /<caption[^>]*>Accuracy &amp; size<\/caption>/);
  assert.match(html, /<th style="text-align:left">task<\/th><th style="text-align:right">acc<\/th><th style="text-align:right">n<\/th><th style="text-align:left">note<\/th>/);
  assert.match(html, /<td[^>]*>pos<\/td><td[^>]*>0\.97<\/td><td[^>]*>204585<\/td><td[^>]*>a\|b &lt;i&gt;<\/td>/);
  assert.match(html, /<td[^>]*>dep<\/td><td[^>]*>0\.90<\/td><td[^>]*>192042<\/td><td[^>]*><\/td>/);
  assert.equal((html.match(/<tr>/g) ?? []).length, 3);
});

test("tableMarkdown and tableText: same cells, escaped pipes, alignment, truncation note", () => {
  const md = tableMarkdown(rows, { columns: ["task", "acc", "note"], maxRows: 1 });
  assert.deepEqual(md.split("\n"), ["| task | acc | note |", "| :--- | ---: | :--- |", "| pos | 0.971 | a\\|b <i> |", "", "_1 more row not shown_"]);
  const text = tableText(rows, { columns: ["task", "n"] });
  assert.deepEqual(text.split("\n"), ["task       n", "----  ------", "pos   204585", "dep   192042"]);
  assert.throws(() => tableHtml([1 as unknown as Record<string, unknown>]), /argument rows\[0\]: expected an object/);
  assert.throws(() => tableHtml(rows, { digits: -1 }), /options\.digits/);
});

test("selectBudget: FTGEO_BUDGET overrides the notebook's choice and is validated", () => {
  const saved = process.env.FTGEO_BUDGET;
  try {
    delete process.env.FTGEO_BUDGET;
    assert.equal(selectBudget("paper"), "paper");
    assert.equal(selectBudget(), "quick");
    process.env.FTGEO_BUDGET = "quick";
    assert.equal(selectBudget("paper"), "quick");
    process.env.FTGEO_BUDGET = "huge";
    assert.throws(() => selectBudget("paper"), (e: unknown) => e instanceof FtgeoError && /FTGEO_BUDGET: expected one of quick \| paper, got "huge"/.test(e.message));
  } finally {
    if (saved === undefined) delete process.env.FTGEO_BUDGET;
    else process.env.FTGEO_BUDGET = saved;
  }
  assert.equal(byBudget("paper", { quick: 2000, paper: Infinity }), Infinity);
  assert.throws(() => parseBudget("Quick"), /got "Quick"/);
});

test("progressHtml: a bar at step/total and the formatted line, escaped", () => {
  const html = progressHtml({ task: "fine-tune <pos>", step: 30, total: 120, values: { loss: 0.5 }, elapsedSeconds: 10, etaSeconds: 30 });
  assert.match(html, /<progress value="30" max="120"/);
  assert.match(html, /\[fine-tune &lt;pos&gt;\]  step 30\/120  loss 0\.5000  elapsed 10\.0s  ETA 30\.0s/);
  assert.doesNotMatch(progressHtml({ task: "t", step: 3, elapsedSeconds: 1 }), /<progress/);
});

/** Captures what the helpers print when no kernel is running. */
function captureStdout(fn: () => void): string {
  const write = process.stdout.write;
  let out = "";
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  try {
    fn();
  } finally {
    process.stdout.write = write;
  }
  return out;
}

test("outside a kernel: displays print their text/plain part, progress updates print nothing", () => {
  assert.equal(inNotebook(), false);
  assert.equal(captureStdout(() => showTable(rows, { columns: ["task"] })), "task\n----\npos\ndep\n");
  const sink = notebookProgressSink({ intervalMs: 0 });
  const printed = captureStdout(() => {
    sink({ task: "t", step: 1, total: 2, elapsedSeconds: 0.5 });
    sink({ task: "t", step: 2, total: 2, elapsedSeconds: 1, done: true });
  });
  assert.equal(printed, "[t]  step 1/2  elapsed 0.5s\n", "the first event creates the output, later ones only update it");
  assert.throws(() => display({}), /MIME bundle is empty/);
  assert.throws(() => display({ "text/plain": "x" }, { update: true }), /needs the displayId/);
});

test("chartBundle: the spec itself, an SVG, and a text line; never text/html", async () => {
  const spec = barChart([{ category: "a", value: 1 }], { title: "one bar" });
  const bundle = await chartBundle(spec);
  assert.deepEqual(Object.keys(bundle).sort(), [VEGALITE_MIME, "image/svg+xml", "text/plain"]);
  assert.equal(bundle[VEGALITE_MIME], spec);
  assert.match(String(bundle["image/svg+xml"]), /^<svg /);
  assert.equal(bundle["text/plain"], "<Vega-Lite chart: one bar>");
});
