/**
 * A section notebook end to end as `npm run report` runs it (quick budget): 43-spatial-structure executes headless
 * without cell errors, its report is self-contained, its three figures are drawn in headless Chromium, and its
 * closing text is computed from the stored result (the numbers in the report are the ones in the results JSON the
 * run note names). One section only, to keep the test's time modest: CI runs `npm run report` for all of them.
 * Uses the project's caches (FTGEO_CACHE or .cache/) like the notebook does: the first run fine-tunes and clusters
 * (minutes), later runs read the stored result.
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { SpatialResults } from "../lib/analysis/s43-spatial";
import { JUPYTER_MISSING, jupyterPython, runInRepo, tslabInstalled } from "./notebook-jupyter";
import { checkFiguresDrawn, checkSelfContained, chromiumMissing } from "./report-browser";

const py = jupyterPython();
const skip = !py ? JUPYTER_MISSING : !tslabInstalled() ? "node_modules/.bin/tslab missing (npm ci)" : chromiumMissing();

test("report: 43-spatial-structure runs at the quick budget; figures drawn, conclusions computed from its result", { skip, timeout: 1_500_000 }, async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "ftgeo-report-"));
  try {
    const r = runInRepo("bash", ["scripts/report.sh", "--no-build", "notebooks/43-spatial-structure.ipynb", "--out", out], 1_400_000);
    assert.equal(r.status, 0, `report failed:\n${r.stderr}`);
    const file = path.join(out, "43-spatial-structure.html");
    const html = fs.readFileSync(file, "utf8");
    const charts = checkSelfContained(html);
    assert.equal(charts, 3, "minimum distances over updates, per-label change, centroid paths");

    // The run note names the stored result; the closing comparison must carry its numbers.
    const stored = /(\/[^<>"'`\s]*\/results\/4\.3\/quick\/[0-9a-f]{16}\.json)/.exec(html);
    assert.ok(stored, "the report names the results file of section 4.3");
    const result = JSON.parse(fs.readFileSync(stored[1], "utf8")) as SpatialResults;
    assert.equal(result.meta.budget, "quick");
    const grown = result.labels.filter((l) => l.growth > 0).length;
    assert.ok(html.includes(`grew for ${grown} of ${result.labels.length} labels`), "the comparison counts the labels whose minimum distance grew");
    for (const label of [...result.growsMost, ...result.growsLeast]) assert.ok(html.includes(label), `label ${label} is named`);
    assert.match(html, /The paper(&#39;|&#x27;|')s findings and this run/, "the closing comparison table is there");
    const verdict = grown > result.labels.length / 2 ? 1 : 0;
    assert.ok(html.includes(`agrees with the paper on ${verdict} of 1 findings`), `the verdict (${verdict} of 1) is computed from the result`);

    await checkFiguresDrawn(file, charts);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
