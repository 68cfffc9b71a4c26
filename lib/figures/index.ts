/** Vega-Lite figure builders (one per figure kind of the paper) and their rendering to SVG in Node. */
export { CHART_CONFIG, SCHEMA, type ChartOptions } from "./common";
export * from "./bar";
export * from "./line";
export * from "./paths";
export * from "./heatmap";
export * from "./scatter";
export * from "./render";
