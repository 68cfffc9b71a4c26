/** Showing Vega-Lite figures in notebooks: the spec (interactive front ends) plus a static SVG, in one message. */
import type { TopLevelSpec } from "vega-lite";
import { compileVegaLite, renderSvg } from "../figures/render";
import { display, type DisplayOptions, type MimeBundle } from "./display";

export const VEGALITE_MIME = "application/vnd.vegalite.v5+json";

/** The MIME bundle of a chart: Vega-Lite spec, SVG rendered in Node, and a one-line text description. */
export async function chartBundle(spec: TopLevelSpec): Promise<MimeBundle> {
  const { warnings } = compileVegaLite(spec);
  // A warning usually means a field name that is not in the data: the chart would silently be empty.
  for (const w of warnings) process.stderr.write(`Vega-Lite warning: ${w}\n`);
  const svg = await renderSvg(spec);
  const title = (spec as { title?: unknown }).title;
  const name = typeof title === "string" ? title : "chart";
  return { [VEGALITE_MIME]: spec as object, "image/svg+xml": svg, "text/plain": `<Vega-Lite chart: ${name}>` };
}

/**
 * Shows a chart. Never sends text/html: JupyterLab would prefer it over its own Vega-Lite renderer.
 * Await it at the end of a cell (`await showChart(spec)`) so the output lands in that cell.
 */
export async function showChart(spec: TopLevelSpec, opts: DisplayOptions = {}): Promise<void> {
  display(await chartBundle(spec), opts);
}
