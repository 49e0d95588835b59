/**
 * The CLI entry: builds commander from the declared specs, runs one command, maps errors to
 * exit codes (0/1 from the command, 2 bad usage or input, 3 internal), one line on stderr.
 */
import { Command, CommanderError, Option } from 'commander';
import { StalepinError } from '../core/errors.js';
import { commonOptions, type CommandSpec, type Io, type OptionSpec } from './spec.js';
import { loadCommands } from './commands/index.js';
import { visible } from '../report/visible.js';

const VERSION = '0.1.0';

function toOption(spec: OptionSpec): Option {
  const o = new Option(spec.flags, spec.description);
  if (spec.choices) o.choices(spec.choices as string[]);
  if (spec.kind === 'number') {
    o.argParser((v: string) => {
      const n = Number(v);
      if (v.trim() === '' || !Number.isFinite(n)) throw new StalepinError('bad_usage', `${spec.flags.split(' ').pop()?.replace(/[<>]/g, '')}: not a number: ${v}`);
      return n;
    });
  }
  if (spec.kind === 'list') {
    o.argParser((v: string, prev: string[] | undefined) => {
      const base = prev === undefined || prev === spec.default ? [] : prev;
      return [...base, ...v.split(',').map((s) => s.trim()).filter(Boolean)];
    });
  }
  if (spec.default !== undefined && spec.kind !== 'boolean') o.default(spec.default);
  return o;
}

/** The program with the commands given (commands/index.ts loadCommands). */
export function buildProgram(io: Io, commands: readonly CommandSpec[], onResult: (code: number) => void): Command {
  const program = new Command('stalepin')
    .description('Find SIP flows pinned by a UDP connection tracker to terminated load-balancer backends.')
    .version(VERSION, '-V, --version')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });

  for (const spec of commands) {
    const cmd = program.command(spec.name).description(spec.summary);
    for (const a of spec.args) {
      const name = a.variadic ? `${a.name}...` : a.name;
      cmd.argument(a.required ? `<${name}>` : `[${name}]`, a.description);
    }
    for (const o of [...spec.options, ...commonOptions]) cmd.addOption(toOption(o));
    if (spec.help) cmd.addHelpText('after', '\n' + spec.help);
    cmd.exitOverride();
    cmd.action(async (...received: unknown[]) => {
      // commander passes the positional arguments, then the options object, then the command.
      const opts = received[spec.args.length] as Record<string, unknown>;
      const positional: string[] = [];
      for (let i = 0; i < spec.args.length; i++) {
        const v = received[i];
        if (Array.isArray(v)) positional.push(...(v as string[]));
        else if (typeof v === 'string') positional.push(v);
      }
      onResult(await spec.run(positional, opts, io));
    });
  }
  return program;
}

/** Runs the CLI; resolves to the exit code. Never throws. */
export async function main(argv: string[], io: Io): Promise<number> {
  let code = 0;
  const debug = argv.includes('--debug');
  try {
    // Only the command run is loaded (`stalepin analyze --help` too); anything else, all of them.
    const program = buildProgram(io, await loadCommands(argv[0]), (c) => {
      code = c;
    });
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit 0; usage errors were already printed by commander.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      if (err.code === 'commander.executeSubCommandAsync') return 0;
      return 2;
    }
    if (err instanceof StalepinError) {
      io.stderr.write(`stalepin: ${visible(err.oneLine())}\n`);
      if (debug && err.stack) io.stderr.write(err.stack + '\n');
      return err.exitCode;
    }
    const e = err as Error;
    io.stderr.write(`stalepin: internal error: ${visible(String(e?.message ?? e))} (please report it; --debug shows the stack)\n`);
    if (debug && e?.stack) io.stderr.write(e.stack + '\n');
    return 3;
  }
}

export function processIo(): Io {
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    color: Boolean(process.stdout.isTTY) && !process.env['NO_COLOR'],
    env: process.env,
    signal: controller.signal,
  };
}
