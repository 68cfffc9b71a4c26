/**
 * Paths in a 2-D projection (e.g. PCA of label centroids across fine-tuning checkpoints): each path is a line
 * through its points in `order`, with a dot per point and the path's name written at its last point, so the
 * direction of movement reads without a legend lookup.
 */
import type { TopLevelSpec } from "vega-lite";
import { argError } from "../util/errors";
import { baseSpec, checkFinite, checkLabel, checkNonEmpty, finish, orderOf, type ChartOptions } from "./common";

export interface PathPoint {
  x: number;
  y: number;
  /** Which path (e.g. a label) the point belongs to. */
  path: string;
  /** Position along the path (e.g. the checkpoint's step); points are joined in increasing order. */
  order: number;
  /** One panel per facet value (e.g. "first layer", "last layer"). */
  facet?: string;
}

export interface PathChartOptions extends ChartOptions {
  xTitle?: string;
  yTitle?: string;
  pathTitle?: string;
  orderTitle?: string;
}

export function pathChart(points: readonly PathPoint[], opts: PathChartOptions = {}): TopLevelSpec {
  checkNonEmpty("points", points);
  const faceted = points.some((p) => p.facet !== undefined);
  const seen = new Set<string>();
  points.forEach((p, i) => {
    checkFinite("points", i, "x", p.x);
    checkFinite("points", i, "y", p.y);
    checkFinite("points", i, "order", p.order);
    checkLabel("points", i, "path", p.path);
    if (faceted) checkLabel("points", i, "facet", p.facet);
    const key = `${p.facet}\u0000${p.path}\u0000${p.order}`;
    if (seen.has(key)) throw argError(`points[${i}]`, `path "${p.path}" has two points with order ${p.order}${faceted ? ` in facet "${p.facet}"` : ""}`);
    seen.add(key);
  });
  const last = new Map<string, number>();
  for (const p of points) {
    const key = `${p.facet}\u0000${p.path}`;
    last.set(key, Math.max(last.get(key) ?? -Infinity, p.order));
  }
  const rows = points.map((p) => ({
    x: p.x,
    y: p.y,
    path: p.path,
    order: p.order,
    facet: p.facet ?? "",
    isLast: last.get(`${p.facet}\u0000${p.path}`) === p.order,
  }));
  const paths = orderOf(points, (p) => p.path);
  const x = { field: "x", type: "quantitative", title: opts.xTitle ?? "PC 1", scale: { zero: false } };
  const y = { field: "y", type: "quantitative", title: opts.yTitle ?? "PC 2", scale: { zero: false } };
  const color = { field: "path", type: "nominal", sort: paths, title: opts.pathTitle ?? null };
  const body = {
    data: { values: rows },
    layer: [
      { mark: { type: "line", strokeWidth: 1.5, opacity: 0.8 }, encoding: { x, y, color, order: { field: "order", type: "quantitative" } } },
      {
        mark: { type: "point", filled: true },
        encoding: {
          x,
          y,
          color,
          // Later points are larger: the direction of travel is visible in the static image too.
          size: { field: "order", type: "quantitative", title: opts.orderTitle ?? "order", scale: { range: [12, 90] } },
          tooltip: [
            { field: "path", type: "nominal" },
            { field: "order", type: "quantitative" },
            { field: "x", type: "quantitative", format: ".3f" },
            { field: "y", type: "quantitative", format: ".3f" },
          ],
        },
      },
      {
        transform: [{ filter: "datum.isLast" }],
        mark: { type: "text", align: "left", dx: 6, dy: -6, fontSize: 11 },
        encoding: { x, y, color, text: { field: "path" } },
      },
    ],
  };
  const base = baseSpec(opts, { width: faceted ? 280 : 380, height: faceted ? 260 : 320 });
  const facet = { field: "facet", type: "nominal", title: null, sort: orderOf(points, (p) => p.facet) };
  // Each panel is its own projection (e.g. a PCA per layer): sharing axes would squash one of them.
  return finish(base, body, faceted ? { facet, resolve: { scale: { x: "independent", y: "independent" } } } : undefined);
}
