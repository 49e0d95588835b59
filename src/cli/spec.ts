/**
 * Commands and options declared once, as data (DESIGN principle 7). `main.ts` turns these into
 * commander definitions; the command's `run` receives a plain, typed options object. Nothing
 * outside src/cli/ imports commander.
 */
import type { Writable } from 'node:stream';

export type OptionKind = 'boolean' | 'string' | 'number' | 'list' | 'choice';

export interface OptionSpec {
  /** camelCase key in the options object, e.g. "sipPort". */
  key: string;
  /** Flags as commander writes them, e.g. "-f, --format <fmt>" or "--quiet". */
  flags: string;
  description: string;
  kind: OptionKind;
  choices?: readonly string[];
  default?: string | number | boolean | string[];
}

export interface ArgSpec {
  name: string;
  description: string;
  /** Several values ("capture..."). */
  variadic?: boolean;
  required?: boolean;
}

/** The terminal and streams a command may use; tests pass their own. */
export interface Io {
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean; columns?: number };
  stdin: NodeJS.ReadableStream;
  /** Colour allowed on stdout (a terminal, and NO_COLOR unset). */
  color: boolean;
  env: NodeJS.ProcessEnv;
  /** An AbortSignal raised on SIGINT/SIGTERM, for long-running commands. */
  signal: AbortSignal;
}

export interface CommandSpec<O = Record<string, unknown>> {
  name: string;
  summary: string;
  /** Longer help, examples. */
  help?: string;
  args: ArgSpec[];
  options: OptionSpec[];
  /** Returns the exit code. Throws StalepinError for bad usage or input. */
  run(args: string[], options: O, io: Io): Promise<number>;
}

/** Options shared by every command. */
export const commonOptions: OptionSpec[] = [
  { key: 'debug', flags: '--debug', description: 'show stack traces for errors', kind: 'boolean', default: false },
  { key: 'quiet', flags: '-q, --quiet', description: 'no progress or warnings on stderr', kind: 'boolean', default: false },
];
