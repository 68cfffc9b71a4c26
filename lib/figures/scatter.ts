/**
 * Scatter plots of labelled points in a 2-D projection (e.g. PCA of each label's centroid difference vector,
 * one panel per layer). Every point may carry its name, written next to it, so the static image needs no
 * tooltip. Panels get their own axes by default: layers move by very different amounts, and shared axes would
 * squash the quiet ones into a dot; `sharedAxes` puts them on one scale when the comparison is the point.
 */
import type { TopLevelSpec } from "vega-lite";
import { argError } from "../util/errors";
import { baseSpec, checkFinite, checkLabel, checkNonEmpty, finish, orderOf, type ChartOptions } from "./common";

export interface ScatterPoint {
  x: number;
  y: number;
  /** Written next to the point (e.g. the label whose centroid moved). */
  name?: string;
  /** One colour per series. */
  series?: string;
  /** One panel per facet value (e.g. "layer 2"). */
  facet?: string;
}

export interface ScatterChartOptions extends ChartOptions {
  xTitle?: string;
  yTitle?: string;
  seriesTitle?: string;
  /** Panels per row for faceted charts. */
  columns?: number;
  /** One x and one y scale for every panel (default: each panel its own). */
  sharedAxes?: boolean;
  /** Write each point's name next to it; default: when there are at most 60 points per panel. */
  showNames?: boolean;
}

export function scatterChart(points: readonly ScatterPoint[], opts: ScatterChartOptions = {}): TopLevelSpec {
  checkNonEmpty("points", points);
  const faceted = points.some((p) => p.facet !== undefined);
  const coloured = points.some((p) => p.series !== undefined);
  const named = points.some((p) => p.name !== undefined);
  const perPanel = new Map<string, number>();
  points.forEach((p, i) => {
    checkFinite("points", i, "x", p.x);
    checkFinite("points", i, "y", p.y);
    if (faceted) checkLabel("points", i, "facet", p.facet);
    if (coloured) checkLabel("points", i, "series", p.series);
    if (p.name !== undefined) checkLabel("points", i, "name", p.name);
    perPanel.set(p.facet ?? "", (perPanel.get(p.facet ?? "") ?? 0) + 1);
  });
  if (opts.columns !== undefined && !(Number.isInteger(opts.columns) && opts.columns > 0)) {
    throw argError("options.columns", `expected a positive integer, got ${opts.columns}`);
  }
  const showNames = named && (opts.showNames ?? Math.max(...perPanel.values()) <= 60);
  const rows = points.map((p) => ({ x: p.x, y: p.y, name: p.name ?? "", series: p.series ?? "", facet: p.facet ?? "" }));
  const x = { field: "x", type: "quantitative", title: opts.xTitle ?? "PC 1", scale: { zero: false } };
  const y = { field: "y", type: "quantitative", title: opts.yTitle ?? "PC 2", scale: { zero: false } };
  const color = coloured ? { color: { field: "series", type: "nominal", sort: orderOf(points, (p) => p.series), title: opts.seriesTitle ?? null } } : {};
  const tooltip = [
    ...(named ? [{ field: "name", type: "nominal" }] : []),
    ...(coloured ? [{ field: "series", type: "nominal" }] : []),
    { field: "x", type: "quantitative", format: ".3f" },
    { field: "y", type: "quantitative", format: ".3f" },
  ];
  const layers: Record<string, unknown>[] = [{ mark: { type: "point", filled: true, size: 40 }, encoding: { x, y, ...color, tooltip } }];
  if (showNames) {
    layers.push({ mark: { type: "text", align: "left", dx: 5, dy: -5, fontSize: 10 }, encoding: { x, y, ...color, text: { field: "name" } } });
  }
  const base = baseSpec(opts, { width: faceted ? 240 : 380, height: faceted ? 220 : 320 });
  const facet = { field: "facet", type: "nominal", title: null, sort: orderOf(points, (p) => p.facet) };
  const resolve = opts.sharedAxes ? { scale: { x: "shared", y: "shared" } } : { scale: { x: "independent", y: "independent" } };
  return finish(base, { data: { values: rows }, layer: layers }, faceted ? { facet, columns: opts.columns, resolve } : undefined);
}
