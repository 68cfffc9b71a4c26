/**
 * Shared by the report tests: checks that an exported HTML report is self-contained and that every figure in it is
 * drawn in headless Chromium, both the interactive Vega-Lite version and the static SVG image it falls back to.
 * "Drawn" = a real share of non-white pixels in the figure's own screenshot, where an empty element of the same
 * size measures ~0 (checked on every call, so the measure itself cannot silently pass blank pages).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { PNG } from "pngjs";
import { chromium, type Page } from "playwright-core";

export const CHROMIUM = process.env.FTGEO_CHROMIUM ?? "/usr/bin/chromium";

export function chromiumMissing(): string | false {
  return fs.existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set FTGEO_CHROMIUM)`;
}

/** Share of pixels that are clearly not white (any channel below 200). */
export function inkShare(png: Buffer): number {
  const img = PNG.sync.read(png);
  let ink = 0;
  for (let i = 0; i < img.data.length; i += 4) {
    if (img.data[i] < 200 || img.data[i + 1] < 200 || img.data[i + 2] < 200) ink++;
  }
  return ink / (img.width * img.height);
}

async function figureInk(page: Page, selector: string): Promise<number[]> {
  const shares: number[] = [];
  for (const el of await page.locator(selector).all()) {
    await el.scrollIntoViewIfNeeded();
    shares.push(inkShare(await el.screenshot()));
  }
  return shares;
}

/** No script or style files, SVG embedded as images, no cell wrote to stderr; returns the number of charts. */
export function checkSelfContained(html: string): number {
  assert.doesNotMatch(html, /<script[^>]*\ssrc=/i, "no script files");
  assert.doesNotMatch(html, /<link[^>]*\shref="(?!data:)/i, "no linked style sheets");
  const markup = html.replace(/<script>[\s\S]*?<\/script>/g, "");
  assert.doesNotMatch(markup, /<svg[\s>]/, "SVG figures are embedded as images (nbconvert 6.5 would strip inline SVG)");
  assert.doesNotMatch(html, /class="[^"]*jp-OutputArea-output[^"]*"[^>]*data-mime-type="application\/vnd\.jupyter\.stderr"/, "no cell wrote to stderr");
  return (html.match(/class="[^"]*ftgeo-chart/g) ?? []).length;
}

/** Opens the report in headless Chromium and asserts that each of its `charts` figures is drawn, live and static. */
export async function checkFiguresDrawn(file: string, charts: number): Promise<void> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
    // playwright starts Chromium with a fresh temporary profile of its own (--user-data-dir)
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const requests: string[] = [];
    page.on("request", (req) => {
      if (!req.url().startsWith("file:") && !req.url().startsWith("data:")) requests.push(req.url());
    });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`file://${file}`);

    // Interactive: vega-embed inlined in the page replaces each static image.
    // (Page code as strings: the project compiles without the DOM types.)
    await page.waitForFunction(`document.querySelectorAll(".ftgeo-chart.ftgeo-interactive").length === ${charts}`, undefined, { timeout: 60_000 });
    const live = await figureInk(page, ".ftgeo-chart .ftgeo-live");
    assert.equal(live.length, charts);
    for (const s of live) assert.ok(s > 0.02, `interactive figure drawn: ${(100 * s).toFixed(2)}% non-white pixels`);

    // Static: the embedded SVG images alone (what a viewer without JavaScript shows).
    await page.evaluate(`document.querySelectorAll(".ftgeo-chart").forEach((el) => el.classList.remove("ftgeo-interactive"))`);
    const decoded = await page.evaluate(`Array.from(document.querySelectorAll(".ftgeo-chart img")).map((img) => img.complete && img.naturalWidth > 0)`);
    assert.deepEqual(decoded, new Array(charts).fill(true), "every SVG image decodes");
    const still = await figureInk(page, ".ftgeo-chart img");
    for (const s of still) assert.ok(s > 0.02, `static figure drawn: ${(100 * s).toFixed(2)}% non-white pixels`);

    // The measure can tell: an empty box of figure size is blank.
    await page.evaluate(`{
      const blank = document.createElement("div");
      blank.id = "ftgeo-blank";
      blank.style.cssText = "width:400px;height:300px;background:white";
      document.body.appendChild(blank);
    }`);
    const [blank] = await figureInk(page, "#ftgeo-blank");
    assert.ok(blank < 0.001, `blank control: ${blank}`);
    assert.deepEqual(requests, [], "the report fetches nothing from the network");
    assert.deepEqual(errors, [], "no script errors in the page");
  } finally {
    await browser.close();
  }
}
