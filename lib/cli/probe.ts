/** `ftgeo probe <name>`: probes of stored representations, one module each in lib/cli/probe/. */
import { subcommandGroup } from "./subcommands";

const group = subcommandGroup("probe", "probe", "probe a model's layer: mlp (classifier probe), direct (DirectProbe)", ["mlp", "direct"]);

export const summary = group.summary;
export const usage = group.usage;
export const subcommands = true;
export const available = group.available;
export const load = group.load;
export const helpText = group.helpText;
export const run = group.run;
