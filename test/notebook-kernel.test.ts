/**
 * The display helpers inside a real tslab kernel, executed by the project's runner (jupyter/run_notebooks.py):
 * a chart is ONE display_data with the Vega-Lite spec and the SVG, progress updates replace their output, and a
 * failing cell stops the notebook with a message naming the notebook and the cell.
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { lineChart, type LinePoint } from "../lib/figures";
import { repoRoot } from "../lib/util/paths";
import { JUPYTER_MISSING, jupyterPython, runInRepo, tslabInstalled } from "./notebook-jupyter";

const py = jupyterPython();
const skip = !py ? JUPYTER_MISSING : !tslabInstalled() ? "node_modules/.bin/tslab missing (npm ci)" : false;

const points: LinePoint[] = [
  { x: 0, y: 1.5, series: "NOUN" },
  { x: 10, y: 1.25, series: "NOUN" },
  { x: 0, y: 0.5, series: "VERB" },
  { x: 10, y: 2, series: "VERB" },
];

function notebook(dist: string): object {
  const code = (source: string) => ({ cell_type: "code", metadata: {}, source, outputs: [], execution_count: null });
  return {
    nbformat: 4,
    nbformat_minor: 4,
    metadata: { kernelspec: { name: "tslab", display_name: "TypeScript", language: "typescript" } },
    cells: [
      { cell_type: "markdown", metadata: {}, source: "# kernel test" },
      code(`import * as nbk from ${JSON.stringify(dist + "/notebook")};\nimport * as fig from ${JSON.stringify(dist + "/figures")};\nimport { Progress } from ${JSON.stringify(dist + "/util/progress")};\nconsole.log("in notebook:", nbk.inNotebook(), "budget:", nbk.selectBudget("paper"));`),
      code(`await nbk.showChart(fig.lineChart(${JSON.stringify(points)}, { title: "kernel test" }));`),
      code(`nbk.showTable([{ label: "a<b>", n: 3, share: 0.123456 }], { digits: 2 });`),
      code(`nbk.useNotebookProgress({ intervalMs: 0 });\nconst p = new Progress("kernel-test", 10, "tokens");\nfor (let i = 1; i <= 10; i++) { await new Promise((r) => setTimeout(r, 5)); p.update(i, 64, { loss: 1 / i }); }\np.finish(10, { loss: 0.1 });`),
      code(`const wrong: number = "not a number";`),
      code(`console.log("this cell must not run");`),
    ],
  };
}

interface Output {
  output_type: string;
  name?: string;
  text?: string;
  data?: Record<string, unknown>;
}

test("tslab kernel: one chart message with both MIME types, in-place progress, failing cell named", { skip, timeout: 240_000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ftgeo-nbtest-"));
  try {
    const nbPath = path.join(dir, "kernel-test.ipynb");
    fs.writeFileSync(nbPath, JSON.stringify(notebook(path.join(repoRoot(), "dist", "lib"))));
    const r = runInRepo(py as string, ["jupyter/run_notebooks.py", nbPath, "--out", dir, "--executed", path.join(dir, "executed"), "--static"], 200_000);
    assert.equal(r.status, 1, `the runner must fail on the type error; stderr:\n${r.stderr}`);
    assert.match(r.stderr, new RegExp(`${nbPath.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: cell 6 \\(code cell 5\\) failed`));
    assert.match(r.stderr, /Type 'string' is not assignable to type 'number'/);

    const executed = JSON.parse(fs.readFileSync(path.join(dir, "executed", "kernel-test.ipynb"), "utf8"));
    const outputs = (i: number): Output[] => executed.cells[i].outputs.map((o: Output) => ({ ...o, text: Array.isArray(o.text) ? o.text.join("") : o.text }));

    assert.deepEqual(outputs(1).map((o) => o.text), ["in notebook: true budget: quick\n"]);

    const chart = outputs(2);
    assert.equal(chart.length, 1, "the chart is one output");
    assert.equal(chart[0].output_type, "display_data");
    const data = chart[0].data as Record<string, unknown>;
    assert.deepEqual(Object.keys(data).sort(), ["application/vnd.vegalite.v5+json", "image/svg+xml", "text/plain"]);
    assert.deepEqual(data["application/vnd.vegalite.v5+json"], JSON.parse(JSON.stringify(lineChart(points, { title: "kernel test" }))));
    const svg = Array.isArray(data["image/svg+xml"]) ? (data["image/svg+xml"] as string[]).join("") : String(data["image/svg+xml"]);
    assert.match(svg, /^<svg[^>]*width="\d+"/);
    assert.equal((svg.match(/class="mark-line role-mark/g) ?? []).length, 2, "one line per series");

    const table = outputs(3);
    assert.equal(table.length, 1);
    const html = [table[0].data?.["text/html"]].flat().join("");
    assert.match(html, /<td[^>]*>a&lt;b&gt;<\/td><td[^>]*>3<\/td><td[^>]*>0\.12<\/td>/);

    const progress = outputs(4);
    assert.equal(progress.length, 1, "progress updates replace one output instead of adding lines");
    const text = [progress[0].data?.["text/plain"]].flat().join("");
    assert.match(text, /\[kernel-test\] +step 10\/10 +loss 0\.1000 .*done/);

    assert.equal(executed.cells[6].execution_count, null, "cells after the failing one do not run");
    assert.deepEqual(executed.cells[6].outputs, []);
    assert.ok(fs.existsSync(path.join(dir, "kernel-test.html")), "a partial report is written for the failed notebook");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
