/**
 * The finetune-geometry library: what notebooks and the CLI compose.
 * data -> tasks -> model + tokenizer -> fine-tuning -> representations -> probes/geometry -> results -> figures.
 */
export * from "./util/errors";
export * from "./util/atomic";
export * from "./util/rng";
export * from "./util/progress";
export * from "./util/paths";
