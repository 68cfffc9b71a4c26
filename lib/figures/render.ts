/**
 * Vega-Lite -> Vega -> SVG, in Node. vega's "none" renderer plus View.toSVG() needs no canvas package:
 * text widths are estimated, which is what a static fallback image needs.
 */
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { writeFileAtomic } from "../util/atomic";
import { FtgeoError } from "../util/errors";

export type { TopLevelSpec };

export interface CompiledChart {
  vega: vega.Spec;
  /** Vega-Lite's warnings (e.g. a field that is not in the data, an incompatible channel). */
  warnings: string[];
}

/** Compiles a Vega-Lite spec to Vega, collecting warnings instead of printing them. */
export function compileVegaLite(spec: TopLevelSpec): CompiledChart {
  const warnings: string[] = [];
  const logger = {
    level(): number {
      return 2;
    },
    error(...args: readonly unknown[]) {
      throw new FtgeoError(`Vega-Lite spec${titleOf(spec)}: ${args.map(String).join(" ")}`);
    },
    warn(...args: readonly unknown[]) {
      warnings.push(args.map(String).join(" "));
      return this;
    },
    info() {
      return this;
    },
    debug() {
      return this;
    },
  };
  let out: { spec: vega.Spec };
  try {
    out = compile(spec, { logger: logger as never });
  } catch (e) {
    if (e instanceof FtgeoError) throw e;
    throw new FtgeoError(`Vega-Lite spec${titleOf(spec)} does not compile: ${(e as Error).message}`);
  }
  return { vega: out.spec, warnings };
}

/** Renders a Vega-Lite spec to a standalone SVG document (string). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const { vega: vg } = compileVegaLite(spec);
  const view = new vega.View(vega.parse(vg), { renderer: "none", logLevel: vega.Warn });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

function titleOf(spec: TopLevelSpec): string {
  const t = (spec as { title?: unknown }).title;
  const text = typeof t === "string" ? t : t && typeof t === "object" ? (t as { text?: unknown }).text : undefined;
  return typeof text === "string" ? ` "${text}"` : "";
}

/** Writes a chart as a standalone SVG file (atomically), e.g. for a headless run's results folder. */
export async function writeChartSvg(spec: TopLevelSpec, file: string): Promise<void> {
  writeFileAtomic(file, await renderSvg(spec));
}
