/** The paper's analyses (sections 4.1-4.5): budgets, shared fine-tuning runs, results, and one runner per section. */
export * from "./budget";
export * from "./data";
export * from "./runs";
export * from "./results";
export * from "./context";
export * from "./geometry";
export { clusterLayer, predictByClusters, type LayerClusters } from "./direct";
export * from "./s41-performance";
export * from "./s42-linearity";
export * from "./s43-spatial";
export * from "./s44-cross-task";
export * from "./s45-layers";
export * from "./sections";
