/** Heatmaps of a matrix (e.g. pairwise distances between label clusters), rows and columns in the caller's order. */
import type { TopLevelSpec } from "vega-lite";
import { argError } from "../util/errors";
import { baseSpec, checkFinite, checkLabel, checkNonEmpty, finish, orderOf, type ChartOptions } from "./common";

export interface HeatCell {
  row: string;
  col: string;
  value: number;
}

export interface HeatmapOptions extends ChartOptions {
  rowTitle?: string;
  colTitle?: string;
  valueTitle?: string;
  /** Write each cell's value in it (small matrices). Default: when there are at most 144 cells. */
  showValues?: boolean;
  /** A Vega colour scheme name; default "viridis". */
  scheme?: string;
  /** d3 number format of values in cells and tooltips; default ".2f". */
  format?: string;
}

export function heatmapChart(cells: readonly HeatCell[], opts: HeatmapOptions = {}): TopLevelSpec {
  checkNonEmpty("cells", cells);
  const seen = new Set<string>();
  cells.forEach((c, i) => {
    checkLabel("cells", i, "row", c.row);
    checkLabel("cells", i, "col", c.col);
    checkFinite("cells", i, "value", c.value);
    const key = `${c.row}\u0000${c.col}`;
    if (seen.has(key)) throw argError(`cells[${i}]`, `cell (${c.row}, ${c.col}) appears twice`);
    seen.add(key);
  });
  const rows = orderOf(cells, (c) => c.row);
  const cols = orderOf(cells, (c) => c.col);
  const format = opts.format ?? ".2f";
  const showValues = opts.showValues ?? cells.length <= 144;
  const x = { field: "col", type: "nominal", sort: cols, title: opts.colTitle ?? null, axis: { labelAngle: -45, grid: false } };
  const y = { field: "row", type: "nominal", sort: rows, title: opts.rowTitle ?? null, axis: { grid: false } };
  const layers: Record<string, unknown>[] = [
    {
      mark: { type: "rect" },
      encoding: {
        x,
        y,
        color: { field: "value", type: "quantitative", title: opts.valueTitle ?? "value", scale: { scheme: opts.scheme ?? "viridis" } },
        tooltip: [
          { field: "row", type: "nominal" },
          { field: "col", type: "nominal" },
          { field: "value", type: "quantitative", format },
        ],
      },
    },
  ];
  if (showValues) {
    const values = cells.map((c) => c.value);
    const mid = (Math.min(...values) + Math.max(...values)) / 2;
    layers.push({
      mark: { type: "text", fontSize: 10 },
      encoding: {
        x,
        y,
        text: { field: "value", type: "quantitative", format },
        // viridis is dark at the low end: light text there, dark text on the bright half.
        color: { condition: { test: `datum.value < ${mid}`, value: "white" }, value: "black" },
      },
    });
  }
  if (opts.scheme !== undefined && !/^[a-z0-9-]+$/i.test(opts.scheme)) throw argError("options.scheme", `expected a Vega scheme name, got "${opts.scheme}"`);
  // Cells wide enough for a "0.00" label when values are written in them.
  const base = baseSpec(opts, { width: Math.max(120, (showValues ? 38 : 26) * cols.length), height: Math.max(100, 22 * rows.length) });
  return finish(base, { data: { values: cells.map((c) => ({ row: c.row, col: c.col, value: c.value })) }, layer: layers });
}
