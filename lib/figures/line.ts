/**
 * Line charts over an ordered axis (fine-tuning steps, layers, epochs): one line per series, optionally one panel
 * per facet. Used for each label's minimum distance over updates, spatial similarity per layer, and learning curves.
 */
import type { TopLevelSpec } from "vega-lite";
import { baseSpec, checkFinite, checkLabel, checkNonEmpty, finish, orderOf, type ChartOptions } from "./common";

export interface LinePoint {
  x: number;
  y: number;
  /** One line (and one colour) per series, e.g. a label. */
  series: string;
  /** Lines with the same series but a different dash value are drawn dashed differently (e.g. "train" / "test"). */
  dash?: string;
  /** One panel per facet value, e.g. "layer 1" and "layer 12". */
  facet?: string;
}

export interface LineChartOptions extends ChartOptions {
  xTitle?: string;
  yTitle?: string;
  seriesTitle?: string;
  dashTitle?: string;
  /** y axis domain; default: fitted to the data (not forced through zero). */
  yDomain?: [number, number];
  /** Draw a dot at each data point (few points per line). Default: when a line has at most 30 points. */
  points?: boolean;
  /** Log-scaled x axis (steps spaced geometrically). */
  logX?: boolean;
  /** Panels per row for faceted charts. */
  columns?: number;
}

export function lineChart(points: readonly LinePoint[], opts: LineChartOptions = {}): TopLevelSpec {
  checkNonEmpty("points", points);
  const faceted = points.some((p) => p.facet !== undefined);
  const dashed = points.some((p) => p.dash !== undefined);
  const perLine = new Map<string, number>();
  points.forEach((p, i) => {
    checkFinite("points", i, "x", p.x);
    checkFinite("points", i, "y", p.y);
    checkLabel("points", i, "series", p.series);
    if (dashed) checkLabel("points", i, "dash", p.dash);
    if (faceted) checkLabel("points", i, "facet", p.facet);
    if (opts.logX && p.x <= 0) checkFinite("points", i, "x (> 0 for a log axis)", NaN);
    const key = `${p.facet}\u0000${p.series}\u0000${p.dash}`;
    perLine.set(key, (perLine.get(key) ?? 0) + 1);
  });
  const showPoints = opts.points ?? Math.max(...perLine.values()) <= 30;
  const series = orderOf(points, (p) => p.series);
  const rows = points.map((p) => ({ x: p.x, y: p.y, series: p.series, dash: p.dash ?? "", facet: p.facet ?? "" }));
  const encoding: Record<string, unknown> = {
    x: { field: "x", type: "quantitative", title: opts.xTitle ?? "x", scale: opts.logX ? { type: "log" } : { zero: false } },
    y: { field: "y", type: "quantitative", title: opts.yTitle ?? "y", scale: opts.yDomain ? { domain: opts.yDomain, zero: false } : { zero: false } },
    color: { field: "series", type: "nominal", sort: series, title: opts.seriesTitle ?? null },
    // Without an explicit detail, two dashes of one series would be joined into one zig-zag line.
    detail: { field: "dash" },
    tooltip: [
      { field: "series", type: "nominal" },
      ...(dashed ? [{ field: "dash", type: "nominal", title: opts.dashTitle ?? "dash" }] : []),
      { field: "x", type: "quantitative" },
      { field: "y", type: "quantitative", format: ".4f" },
    ],
  };
  if (dashed) encoding.strokeDash = { field: "dash", type: "nominal", sort: orderOf(points, (p) => p.dash), title: opts.dashTitle ?? null };
  const body = {
    data: { values: rows },
    mark: { type: "line", point: showPoints, strokeWidth: 2 },
    encoding,
  };
  const base = baseSpec(opts, { width: faceted ? 260 : 420, height: faceted ? 200 : 260 });
  const facet = { field: "facet", type: "nominal", title: null, sort: orderOf(points, (p) => p.facet) };
  return finish(base, body, faceted ? { facet, columns: opts.columns } : undefined);
}

export interface LearningCurvePoint {
  /** Epoch or update step. */
  step: number;
  value: number;
  /** e.g. "subtrain", "subtest", "train", "test". */
  split: string;
  /** One line colour per run (e.g. a task or a model) when several runs share a chart. */
  run?: string;
}

/** Learning curves: value (accuracy or loss) over steps, one dash style per split, one colour per run. */
export function learningCurveChart(points: readonly LearningCurvePoint[], opts: LineChartOptions = {}): TopLevelSpec {
  checkNonEmpty("points", points);
  const lines = points.map((p, i) => {
    checkLabel("points", i, "split", p.split);
    // Without runs the colour already tells the splits apart; a second (dash) legend would repeat it.
    return { x: p.step, y: p.value, series: p.run ?? p.split, dash: p.run === undefined ? undefined : p.split };
  });
  return lineChart(lines, { xTitle: "step", yTitle: "accuracy", seriesTitle: points.some((p) => p.run !== undefined) ? "run" : "split", dashTitle: "split", ...opts });
}
