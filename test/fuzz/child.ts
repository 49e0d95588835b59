/**
 * One target's fuzz loop in its own process, under run.ts's watchdog. Before each input it
 * writes the input's index to the progress file, so a supervisor that had to kill it (a hang)
 * or saw it die (out of memory) knows exactly which input did it and rebuilds it from the seed.
 * Output: one JSON line per crash, one at the end.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { defaultLimits, fuzzLoop, loadCorpus, saveCrash } from './engine.js';
import type { FuzzTarget } from './targets.js';

function arg(name: string, dflt?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1]!;
  if (dflt === undefined) throw new Error(`child: --${name} missing`);
  return dflt;
}

async function main(): Promise<void> {
  const mod = arg('module', '');
  const list: FuzzTarget[] = mod ? ((await import(pathToFileURL(resolve(mod)).href)) as { targets: FuzzTarget[] }).targets : (await import('./targets.js')).targets;
  const target = list.find((t) => t.name === arg('target'));
  if (!target) throw new Error(`child: no target ${arg('target')}`);
  const fd = openSync(arg('progress'), 'w');
  const word = new Float64Array(1);
  const bytes = new Uint8Array(word.buffer);
  const mark = (i: number): void => {
    word[0] = i;
    writeSync(fd, bytes, 0, 8, 0);
  };
  mark(-1);
  const corpus = await loadCorpus(target);
  const crashes = arg('crashes');
  const r = await fuzzLoop(corpus, {
    seed: Number(arg('seed')),
    seconds: Number(arg('seconds')),
    start: Number(arg('start', '0')),
    limits: { ...defaultLimits, perInputMs: Number(arg('per-input-ms', String(defaultLimits.perInputMs))) },
    onInput: mark,
    onCrash: (c) => {
      const file = saveCrash(crashes, c);
      process.stdout.write(JSON.stringify({ crash: { kind: c.kind, index: c.index, signature: c.signature, file, message: c.message.split('\n').slice(0, 6).join('\n') } }) + '\n');
    },
  });
  mark(-2);
  closeSync(fd);
  process.stdout.write(JSON.stringify({ done: { ...r, seeds: corpus.seeds.length } }) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`child failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(70);
});
