/**
 * The finetune-geometry library: what notebooks and the CLI compose.
 * data -> tasks -> model + tokenizer -> fine-tuning -> representations -> probes/geometry -> results -> figures.
 * Figures and notebook helpers are namespaced (ftg.figures.*, ftg.notebook.*): their short names would collide.
 */
export * from "./util/errors";
export * from "./util/atomic";
export * from "./util/rng";
export * from "./util/progress";
export * from "./util/paths";

export * from "./data/conllu";
export * from "./data/streusle";
export * from "./data/trec";
export * from "./tasks/types";
export * from "./tasks/load";
export * from "./tasks/user";
export * from "./tasks/stats";
export * from "./tasks/frame";

export * from "./model/config";
export * from "./model/backend";
export * from "./model/bert";
export * from "./model/checkpoint";
export * from "./model/hub";
export { readSafetensors, writeSafetensors, readSafetensorsHeader, FloatTensor, FloatTensorMap } from "./model/safetensors";
export { readPytorchBin, readTorchFile } from "./model/pytorch-bin";
export { buildNativeBlas, nativeMatMulActive, nativeGeluActive } from "./model/native-blas";
export * from "./tokenize/wordpiece";
export * from "./tokenize/align";
export * from "./model/encode";

export * from "./train/optimizer";
export * from "./train/loop";
export * from "./train/snapshots";
export * from "./train/heads";
export * from "./train/batches";
export * from "./train/params";
export * from "./train/finetune";

export * from "./reps/npy";
export * from "./reps/store";
export * from "./reps/encoder";
export * from "./probe/mlp";
export * from "./probe/grid";
export * from "./probe/curves";
export * from "./probe/layer";
export * from "./probe/pool";
export * from "./probe/kernels";

export * from "./geometry";
export * from "./analysis";

export * from "./pretrain/corpus";
export * from "./pretrain/masking";
export * from "./pretrain/mlm";
export * from "./pretrain/pretrain";

export * as figures from "./figures";
export * as notebook from "./notebook";
