/**
 * Every CLI command, in the order `stalepin --help` lists them, each module loaded when asked
 * for: a run loads the command it runs, not the other eight (with their readers, renderers and
 * rules, about half of what the CLI loads; for `calls` 50 ms of its start, before which its
 * reading thread has no input). Help and an unknown command load them all.
 */
import type { CommandSpec } from '../spec.js';

const LOADERS: Readonly<Record<string, () => Promise<CommandSpec<any>>>> = {
  analyze: async () => (await import('./analyze.js')).analyzeCommand,
  inspect: async () => (await import('./inspect.js')).inspectCommand,
  messages: async () => (await import('./messages.js')).messagesCommand,
  calls: async () => (await import('./calls.js')).callsCommand,
  flow: async () => (await import('./flow.js')).flowCommand,
  conntrack: async () => (await import('./conntrack.js')).conntrackCommand,
  audit: async () => (await import('./audit.js')).auditCommand,
  probe: async () => (await import('./probe.js')).probeCommand,
  watch: async () => (await import('./watch.js')).watchCommand,
};

/** The names of every command, in the order of `stalepin --help`. */
export const COMMAND_NAMES: readonly string[] = Object.keys(LOADERS);

/** The spec of the command named `name` alone when it is one, else every command's. */
export async function loadCommands(name: string | undefined): Promise<CommandSpec<any>[]> {
  const one = name !== undefined && Object.hasOwn(LOADERS, name) ? LOADERS[name] : undefined;
  return Promise.all(one !== undefined ? [one()] : COMMAND_NAMES.map((n) => LOADERS[n]!()));
}
