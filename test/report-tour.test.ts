/**
 * `npm run report` on the tour notebook: it executes headless, the HTML is self-contained (no script or style
 * files, figures embedded), and in headless Chromium every figure is drawn (test/report-browser.ts).
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { JUPYTER_MISSING, jupyterPython, runInRepo, tslabInstalled } from "./notebook-jupyter";
import { checkFiguresDrawn, checkSelfContained, chromiumMissing } from "./report-browser";

const py = jupyterPython();
const skip = !py ? JUPYTER_MISSING : !tslabInstalled() ? "node_modules/.bin/tslab missing (npm ci)" : chromiumMissing();

test("report: 00-tour runs headless; its HTML is self-contained and its figures are drawn in Chromium", { skip, timeout: 300_000 }, async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "ftgeo-report-"));
  try {
    const r = runInRepo("bash", ["scripts/report.sh", "--no-build", "notebooks/00-tour.ipynb", "--out", out], 240_000);
    assert.equal(r.status, 0, `report failed:\n${r.stderr}`);
    const file = path.join(out, "00-tour.html");
    const charts = checkSelfContained(fs.readFileSync(file, "utf8"));
    assert.equal(charts, 3, "the tour draws three figures");
    await checkFiguresDrawn(file, charts);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
