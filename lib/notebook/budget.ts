/**
 * The compute budget of a notebook run. `quick`: the embedded model and subsampled data, minutes on a laptop;
 * `paper`: the paper's models and settings. A notebook's first cell picks one; the environment variable
 * FTGEO_BUDGET overrides it, so `npm run report` and CI run every notebook quickly without editing them.
 */
import { argError } from "../util/errors";

export type Budget = "quick" | "paper";
export const BUDGETS: readonly Budget[] = ["quick", "paper"];

export function parseBudget(value: string, where = "budget"): Budget {
  if ((BUDGETS as readonly string[]).includes(value)) return value as Budget;
  throw argError(where, `expected one of ${BUDGETS.join(" | ")}, got "${value}"`);
}

/** The notebook's budget: FTGEO_BUDGET when set (and valid), otherwise `chosen`. */
export function selectBudget(chosen: Budget = "quick"): Budget {
  parseBudget(chosen);
  const env = process.env.FTGEO_BUDGET;
  return env === undefined || env === "" ? chosen : parseBudget(env, "environment variable FTGEO_BUDGET");
}

/** Picks the setting of the current budget, e.g. byBudget(budget, { quick: 2_000, paper: Infinity }). */
export function byBudget<T>(budget: Budget, choices: Record<Budget, T>): T {
  parseBudget(budget);
  return choices[budget];
}
