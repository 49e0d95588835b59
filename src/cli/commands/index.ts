/** Every CLI command, in the order `stalepin --help` lists them. */
import type { CommandSpec } from '../spec.js';
import { inspectCommand } from './inspect.js';
import { messagesCommand } from './messages.js';
import { conntrackCommand } from './conntrack.js';

export const commands: CommandSpec<any>[] = [inspectCommand, messagesCommand, conntrackCommand];
