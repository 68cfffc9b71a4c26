/**
 * `npm run notebook` with the classic Jupyter Notebook: the server finds the project's kernelspec and loads the
 * project's Vega-Lite extension through JUPYTER_PATH / JUPYTER_CONFIG_PATH, a chart cell run in the browser is
 * drawn interactively by vega-embed from node_modules, and nothing is fetched from outside the server.
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { PNG } from "pngjs";
import { chromium } from "playwright-core";
import { repoRoot } from "../lib/util/paths";
import { JUPYTER_MISSING, tslabInstalled } from "./notebook-jupyter";

const CHROMIUM = process.env.FTGEO_CHROMIUM ?? "/usr/bin/chromium";
const classic = spawnSync("jupyter", ["notebook", "--version"], { stdio: "ignore" }).status === 0;
const skip = !classic
  ? `the classic notebook is not installed (jupyter notebook --version failed): ${JUPYTER_MISSING}`
  : !tslabInstalled()
    ? "node_modules/.bin/tslab missing (npm ci)"
    : !fs.existsSync(CHROMIUM)
      ? `no Chromium at ${CHROMIUM}`
      : false;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

test("classic notebook: project kernel and Vega-Lite extension draw a chart in the browser", { skip, timeout: 420_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ftgeo-classic-"));
  const dist = path.join(repoRoot(), "dist", "lib");
  const source = `import * as nbk from ${JSON.stringify(dist + "/notebook")};\nimport * as fig from ${JSON.stringify(dist + "/figures")};\nawait nbk.showChart(fig.barChart([{ category: "a", value: 1 }, { category: "b", value: 3 }], { title: "classic" }));`;
  fs.writeFileSync(
    path.join(dir, "classic.ipynb"),
    JSON.stringify({
      nbformat: 4,
      nbformat_minor: 4,
      metadata: { kernelspec: { name: "tslab", display_name: "TypeScript", language: "typescript" } },
      cells: [{ cell_type: "code", metadata: {}, source, outputs: [], execution_count: null }],
    }),
  );
  const port = await freePort();
  const args = ["scripts/notebook.sh", "--no-build", "--no-browser", `--port=${port}`, "--port-retries=0", `--notebook-dir=${dir}`, "--NotebookApp.token=", "--NotebookApp.password="];
  if (process.getuid?.() === 0) args.push("--allow-root");
  const server = spawn("bash", args, { cwd: repoRoot(), env: { ...process.env, FTGEO_JUPYTER: "notebook" }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  server.stdout.on("data", (d) => (log += d));
  server.stderr.on("data", (d) => (log += d));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the notebook server did not start in 60 s:\n${log}`)), 60_000);
      const poll = setInterval(() => {
        if (/is running at/.test(log)) {
          clearInterval(poll);
          clearTimeout(timer);
          resolve();
        }
      }, 200);
      server.once("exit", (code) => {
        clearInterval(poll);
        clearTimeout(timer);
        reject(new Error(`the notebook server exited with ${code}:\n${log}`));
      });
    });
    assert.match(log, new RegExp(`Serving notebooks from local directory: ${dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
    const base = `http://127.0.0.1:${port}`;

    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"] });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const external: string[] = [];
      page.on("request", (r) => {
        const u = r.url();
        if (!u.startsWith(base) && !u.startsWith("data:") && !u.startsWith("ws:") && !u.startsWith("blob:")) external.push(u);
      });
      await page.goto(`${base}/notebooks/classic.ipynb`);
      await page.waitForFunction("window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel && Jupyter.notebook.kernel.is_connected()", undefined, { timeout: 60_000 });
      assert.equal(await page.evaluate("Jupyter.notebook.kernel.name"), "tslab");
      await page.evaluate("Jupyter.notebook.execute_all_cells()");
      // Generous: on a loaded 2-core machine tslab needs a while to compile its first cell.
      await page.waitForSelector(".output_vegalite svg.marks", { timeout: 240_000 });
      assert.equal(await page.locator(".output_svg").count(), 0, "the interactive renderer is preferred over the static SVG");
      const png = PNG.sync.read(await page.locator(".output_vegalite").first().screenshot());
      let ink = 0;
      for (let i = 0; i < png.data.length; i += 4) if (png.data[i] < 200 || png.data[i + 1] < 200 || png.data[i + 2] < 200) ink++;
      assert.ok(ink / (png.width * png.height) > 0.02, `chart drawn: ${ink} non-white pixels of ${png.width * png.height}`);
      assert.deepEqual(external, [], "nothing fetched from outside the notebook server (no CDN)");
      await page.evaluate("Jupyter.notebook.kernel.kill()");
    } finally {
      await browser.close();
    }
  } finally {
    if (server.pid !== undefined && server.exitCode === null) process.kill(-server.pid, "SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
