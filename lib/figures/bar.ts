/** Bar charts: one bar per category, or grouped bars (e.g. original vs fine-tuned per task) with mean +- std error bars. */
import type { TopLevelSpec } from "vega-lite";
import { argError } from "../util/errors";
import { baseSpec, checkFinite, checkLabel, checkNonEmpty, finish, orderOf, type ChartOptions } from "./common";

export interface BarDatum {
  category: string;
  /** Bars of the same category but different series stand side by side (e.g. "original", "fine-tuned"). */
  series?: string;
  value: number;
  /** Half-length of the error bar (e.g. the standard deviation over seeds); omitted = no error bar. */
  error?: number;
}

export interface BarChartOptions extends ChartOptions {
  categoryTitle?: string;
  valueTitle?: string;
  seriesTitle?: string;
  /** Value axis domain, e.g. [0, 1] for accuracies; default: from zero to the data. */
  domain?: [number, number];
  /** Bars run horizontally (long category names). */
  horizontal?: boolean;
}

export function barChart(data: readonly BarDatum[], opts: BarChartOptions = {}): TopLevelSpec {
  checkNonEmpty("data", data);
  const grouped = data.some((d) => d.series !== undefined);
  const rows = data.map((d, i) => {
    checkLabel("data", i, "category", d.category);
    checkFinite("data", i, "value", d.value);
    if (grouped) checkLabel("data", i, "series", d.series);
    if (d.error !== undefined) {
      checkFinite("data", i, "error", d.error);
      if (d.error < 0) throw argError(`data[${i}].error`, `expected a half-length >= 0, got ${d.error}`);
    }
    const e = d.error ?? 0;
    return { category: d.category, series: d.series ?? "", value: d.value, lo: d.value - e, hi: d.value + e, hasError: d.error !== undefined };
  });
  if (opts.domain && !(opts.domain[0] < opts.domain[1])) throw argError("options.domain", `expected [min, max] with min < max, got [${opts.domain}]`);

  const cat = opts.horizontal ? "y" : "x";
  const val = opts.horizontal ? "x" : "y";
  const catOffset = opts.horizontal ? "yOffset" : "xOffset";
  const categories = orderOf(data, (d) => d.category);
  const series = orderOf(data, (d) => d.series);
  const valueScale = opts.domain ? { domain: opts.domain, zero: false } : { zero: true };
  const catEnc = { field: "category", type: "nominal", title: opts.categoryTitle ?? null, sort: categories, axis: { labelAngle: opts.horizontal ? 0 : -30 } };
  const valEnc = { field: "value", type: "quantitative", title: opts.valueTitle ?? "value", scale: valueScale };
  const groupEnc = grouped
    ? { [catOffset]: { field: "series", sort: series }, color: { field: "series", type: "nominal", sort: series, title: opts.seriesTitle ?? null } }
    : {};
  const tooltip = [
    { field: "category", type: "nominal" },
    ...(grouped ? [{ field: "series", type: "nominal" }] : []),
    { field: "value", type: "quantitative", format: ".4f" },
  ];

  const layers: Record<string, unknown>[] = [
    { mark: { type: "bar" }, encoding: { [cat]: catEnc, [val]: valEnc, ...groupEnc, tooltip } },
  ];
  if (rows.some((r) => r.hasError)) {
    layers.push({
      transform: [{ filter: "datum.hasError" }],
      mark: { type: "rule", color: "black", strokeWidth: 1.5 },
      encoding: {
        [cat]: catEnc,
        [val]: { field: "lo", type: "quantitative", scale: valueScale },
        [`${val}2`]: { field: "hi" },
        ...(grouped ? { [catOffset]: { field: "series", sort: series } } : {}),
      },
    });
  }
  const extent = Math.max(120, (grouped ? 10 * Math.max(1, series.length) + 8 : 24) * categories.length);
  const base = baseSpec(opts, opts.horizontal ? { width: 260, height: extent } : { width: extent, height: 220 });
  return finish(base, { data: { values: rows }, layer: layers });
}
