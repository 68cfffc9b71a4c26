/** What every figure builder shares: size/title options, input checks, and the project's chart style. */
import { argError } from "../util/errors";
import type { TopLevelSpec } from "vega-lite";

export interface ChartOptions {
  title?: string;
  /** Plot width in pixels (per facet for faceted charts). */
  width?: number;
  height?: number;
}

export const SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";

/** Readable defaults that also survive the static SVG (no web fonts, no hover-only information). */
export const CHART_CONFIG = {
  font: "Helvetica, Arial, sans-serif",
  view: { stroke: "#ddd" },
  axis: { labelFontSize: 11, titleFontSize: 12, grid: true, gridColor: "#eee" },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 14, anchor: "start" as const },
};

export function baseSpec(opts: ChartOptions, defaults: { width: number; height: number }): Record<string, unknown> {
  const spec: Record<string, unknown> = { $schema: SCHEMA, config: CHART_CONFIG };
  if (opts.title !== undefined) spec.title = opts.title;
  checkSize("width", opts.width);
  checkSize("height", opts.height);
  return { ...spec, _size: { width: opts.width ?? defaults.width, height: opts.height ?? defaults.height } };
}

/** Moves the size into the place Vega-Lite expects it: the top level, or the inner spec of a facet. */
export function finish(
  base: Record<string, unknown>,
  body: Record<string, unknown>,
  facet?: { facet: Record<string, unknown>; columns?: number; resolve?: Record<string, unknown> },
): TopLevelSpec {
  const { _size, ...top } = base as { _size: { width: number; height: number } } & Record<string, unknown>;
  // The builders assemble plain JSON checked by compiling it (tests); TypeScript's union of spec shapes is too
  // deep to help here.
  if (facet) {
    const { data, ...inner } = body;
    const spec = { ...top, data, facet: facet.facet, spec: { ..._size, ...inner }, resolve: facet.resolve ?? { axis: { x: "independent" } } };
    return (facet.columns !== undefined ? { ...spec, columns: facet.columns } : spec) as unknown as TopLevelSpec;
  }
  return { ...top, ..._size, ...body } as unknown as TopLevelSpec;
}

export function checkNonEmpty(name: string, rows: readonly unknown[]): void {
  if (!Array.isArray(rows) || rows.length === 0) throw argError(name, "expected a non-empty array of data rows");
}

export function checkFinite(name: string, index: number, field: string, v: unknown): void {
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw argError(`${name}[${index}].${field}`, `expected a finite number, got ${String(v)}`);
  }
}

export function checkLabel(name: string, index: number, field: string, v: unknown): void {
  if (typeof v !== "string" || v.length === 0) {
    throw argError(`${name}[${index}].${field}`, `expected a non-empty string, got ${JSON.stringify(v)}`);
  }
}

function checkSize(name: string, v: number | undefined): void {
  if (v !== undefined && !(Number.isFinite(v) && v > 0)) throw argError(`options.${name}`, `expected a positive number of pixels, got ${v}`);
}

/** First-seen order of a field's values, so categories keep the caller's order instead of sorting alphabetically. */
export function orderOf<T>(rows: readonly T[], get: (r: T) => string | undefined): string[] {
  const seen = new Set<string>();
  for (const r of rows) {
    const v = get(r);
    if (v !== undefined) seen.add(v);
  }
  return [...seen];
}
