/** Every CLI command, in the order `stalepin --help` lists them. */
import type { CommandSpec } from '../spec.js';
import { analyzeCommand } from './analyze.js';
import { inspectCommand } from './inspect.js';
import { messagesCommand } from './messages.js';
import { callsCommand } from './calls.js';
import { flowCommand } from './flow.js';
import { conntrackCommand } from './conntrack.js';
import { auditCommand } from './audit.js';
import { probeCommand } from './probe.js';
import { watchCommand } from './watch.js';

export const commands: CommandSpec<any>[] = [analyzeCommand, inspectCommand, messagesCommand, callsCommand, flowCommand, conntrackCommand, auditCommand, probeCommand, watchCommand];
