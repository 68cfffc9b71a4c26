/**
 * `ftgeo bench <name>`: throughput benchmarks, one module each in lib/cli/bench/. Benchmarks print ratios against a
 * reference measured in the same run (PyTorch / scikit-learn when Debian's packages are there), never pass/fail on
 * absolute times.
 */
import { subcommandGroup } from "./subcommands";

const group = subcommandGroup("bench", "benchmark", "benchmarks against references measured in the same run (encode, train, probe, direct)", ["encode", "train"]);

export const summary = group.summary;
export const usage = group.usage;
export const subcommands = true;
export const available = group.available;
export const load = group.load;
export const helpText = group.helpText;
export const run = group.run;
