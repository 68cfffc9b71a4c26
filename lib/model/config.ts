/**
 * BERT hyper-parameters with the field names of Hugging Face's config.json, so a config read from a model folder
 * is used as-is and a config written here loads in Python transformers.
 */
import { FtgeoError } from "../util/errors";

export interface BertConfig {
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  max_position_embeddings: number;
  type_vocab_size: number;
  layer_norm_eps: number;
  hidden_dropout_prob: number;
  attention_probs_dropout_prob: number;
  hidden_act: string;
  model_type?: string;
  pad_token_id?: number;
  [extra: string]: unknown;
}

/** The standard deviation of BERT's N(0, std) initialisation: the config's initializer_range, else BERT's 0.02. */
export function initializerRange(config: BertConfig): number {
  return typeof config.initializer_range === "number" ? config.initializer_range : 0.02;
}

export type BertShapeName = "tiny" | "mini" | "small" | "medium" | "base";

/** Layers and hidden size of the compact BERTs of Turc et al. (2019) and of BERT-base (Devlin et al., 2019). */
const SHAPES: Record<BertShapeName, { layers: number; hidden: number }> = {
  tiny: { layers: 2, hidden: 128 },
  mini: { layers: 4, hidden: 256 },
  small: { layers: 4, hidden: 512 },
  medium: { layers: 8, hidden: 512 },
  base: { layers: 12, hidden: 768 },
};

export const BERT_SHAPE_NAMES = Object.keys(SHAPES) as BertShapeName[];

/** The config of one of the five uncased BERT shapes of the study (vocabulary of bert-base-uncased, 30522). */
export function bertShape(name: BertShapeName): BertConfig {
  const s = SHAPES[name];
  if (!s) throw new FtgeoError(`unknown BERT shape ${JSON.stringify(name)}; expected one of ${BERT_SHAPE_NAMES.join(", ")}`);
  return {
    architectures: ["BertModel"],
    model_type: "bert",
    vocab_size: 30522,
    hidden_size: s.hidden,
    num_hidden_layers: s.layers,
    // Turc et al. use hidden/64 heads and a 4x feed-forward width for every shape.
    num_attention_heads: s.hidden / 64,
    intermediate_size: 4 * s.hidden,
    max_position_embeddings: 512,
    type_vocab_size: 2,
    layer_norm_eps: 1e-12,
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0.1,
    hidden_act: "gelu",
    initializer_range: 0.02,
    pad_token_id: 0,
    position_embedding_type: "absolute",
  };
}

/** Activations that Hugging Face spells differently but that all mean the exact erf GELU. */
const EXACT_GELU = new Set(["gelu", "gelu_python"]);

/** Names of hidden_act values this encoder implements. */
export function supportedActivation(act: string): boolean {
  return EXACT_GELU.has(act) || act === "gelu_new" || act === "relu";
}

/**
 * Check a parsed config.json (or any object claiming to be a BERT config) and return it typed.
 * `source` names where it came from (a file path) so the error points there.
 */
export function validateConfig(raw: unknown, source: string): BertConfig {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new FtgeoError(`${source}: expected a JSON object with BERT hyper-parameters, got ${raw === null ? "null" : Array.isArray(raw) ? "an array" : typeof raw}`);
  }
  const c = raw as Record<string, unknown>;
  const out: Record<string, unknown> = { ...c };
  const int = (field: string, fallback?: number, min = 1): number => {
    const v = c[field];
    if (v === undefined) {
      if (fallback !== undefined) return fallback;
      throw new FtgeoError(`${source}: field "${field}" is missing (expected a positive integer)`);
    }
    if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
      throw new FtgeoError(`${source}: field "${field}" must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const num = (field: string, fallback: number, lo: number, hi: number, loOpen = false): number => {
    const v = c[field];
    if (v === undefined) return fallback;
    if (typeof v !== "number" || !Number.isFinite(v) || v > hi || v < lo || (loOpen && v === lo)) {
      throw new FtgeoError(`${source}: field "${field}" must be a number in ${loOpen ? "(" : "["}${lo}, ${hi}], got ${JSON.stringify(v)}`);
    }
    return v;
  };
  if (c.model_type !== undefined && typeof c.model_type === "string" && c.model_type !== "bert") {
    // Other encoders (e.g. distilbert, electra) name their tensors differently; refuse rather than load garbage.
    throw new FtgeoError(`${source}: field "model_type" is ${JSON.stringify(c.model_type)}; only "bert" models are supported`);
  }
  out.vocab_size = int("vocab_size");
  out.hidden_size = int("hidden_size");
  out.num_hidden_layers = int("num_hidden_layers");
  out.num_attention_heads = int("num_attention_heads");
  out.intermediate_size = int("intermediate_size");
  out.max_position_embeddings = int("max_position_embeddings", 512);
  out.type_vocab_size = int("type_vocab_size", 2);
  out.layer_norm_eps = num("layer_norm_eps", 1e-12, 0, 1, true);
  out.hidden_dropout_prob = num("hidden_dropout_prob", 0.1, 0, 0.99);
  out.attention_probs_dropout_prob = num("attention_probs_dropout_prob", 0.1, 0, 0.99);
  const act = c.hidden_act ?? "gelu";
  if (typeof act !== "string" || !supportedActivation(act)) {
    throw new FtgeoError(`${source}: field "hidden_act" is ${JSON.stringify(act)}; supported: "gelu" (exact erf), "gelu_python", "gelu_new", "relu"`);
  }
  out.hidden_act = act;
  if ((out.hidden_size as number) % (out.num_attention_heads as number) !== 0) {
    throw new FtgeoError(`${source}: field "hidden_size" (${out.hidden_size}) must be a multiple of "num_attention_heads" (${out.num_attention_heads})`);
  }
  const pet = c.position_embedding_type;
  if (pet !== undefined && pet !== "absolute") {
    throw new FtgeoError(`${source}: field "position_embedding_type" is ${JSON.stringify(pet)}; only "absolute" is supported`);
  }
  if (c.pad_token_id !== undefined) out.pad_token_id = int("pad_token_id", 0, 0);
  return out as BertConfig;
}
