/**
 * The short fuzz run of CI: every target for about 3 s with a fixed seed, in-process. Crashes
 * are saved to test/fuzz/crashes/ (reproduce with `npm run fuzz -- --target T --seed 20261123`).
 * Also shows the harness itself notices each kind of failure, using targets with planted bugs.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultLimits, fuzzLoop, inputFor, loadCorpus, runOne, saveCrash, type Crash } from './engine.js';
import { crashesDir, fuzzDir, targets } from './targets.js';
import { targets as planted } from './planted.js';
import { supervise } from './supervisor.js';

const SEED = 20261123;
const SECONDS = Number(process.env.STALEPIN_FUZZ_SECONDS ?? 3);

describe('short fuzz run', () => {
  it.each(targets.map((t) => [t.name, t] as const))('%s: every input ends in a result or a clean error', async (_name, t) => {
    const corpus = await loadCorpus(t);
    expect(corpus.seeds.length).toBeGreaterThan(1);
    const crashes: Crash[] = [];
    const r = await fuzzLoop(corpus, {
      seed: SEED,
      seconds: SECONDS,
      onCrash: (c) => {
        crashes.push(c);
        saveCrash(crashesDir, c);
      },
    });
    // Every seed ran, and mutated inputs after them.
    expect(r.inputs).toBeGreaterThan(corpus.seeds.length);
    expect(crashes.map((c) => `${c.kind} at input ${c.index}: ${c.signature}`)).toEqual([]);
  }, 60_000);

  it('input i is the same for the same seed, different for another', async () => {
    const c = await loadCorpus(targets.find((t) => t.name === 'sip')!);
    const i = c.seeds.length + 17;
    expect(inputFor(c, SEED, i)).toEqual(inputFor(c, SEED, i));
    expect(inputFor(c, SEED, i)).not.toEqual(inputFor(c, SEED + 1, i));
  });
});

describe('the harness catches planted bugs', () => {
  const byName = (n: string) => planted.find((t) => t.name === n)!;

  it.each([
    ['planted-throw', 'exception', /TypeError: planted/],
    ['planted-internal', 'internal-error', /planted internal error/],
    ['planted-slow', 'slow', /budget 100 ms/],
  ] as const)('%s is reported as %s', async (name, kind, msg) => {
    const crashes: Crash[] = [];
    const r = await fuzzLoop(await loadCorpus(byName(name)), {
      seed: 1,
      seconds: 10,
      maxInputs: 400,
      limits: { ...defaultLimits, perInputMs: 100 },
      onCrash: (c) => crashes.push(c),
    });
    expect(r.crashes).toBeGreaterThan(0);
    expect(crashes).toHaveLength(1); // one per signature
    expect(crashes[0]!.kind).toBe(kind);
    expect(crashes[0]!.message).toMatch(msg);
    expect(crashes[0]!.input.includes(0x42)).toBe(true);
  });

  it('a clean StalepinError is not a crash', async () => {
    expect(await runOne(byName('planted-throw'), Uint8Array.of(1))).toBeUndefined();
  });

  it.each([
    ['planted-hang', 'hang'],
    ['planted-oom', 'died'],
  ] as const)('%s: the supervisor kills or loses the child, saves the input, and carries on', async (name, kind) => {
    const dir = mkdtempSync(join(tmpdir(), 'stalepin-fuzz-test-'));
    try {
      const r = await supervise({ target: byName(name), seed: 1, seconds: 8, crashesDir: dir, perInputMs: 200, heapMb: 64, module: join(fuzzDir, 'planted.ts') });
      const c = r.crashes.find((x) => x.kind === kind);
      expect(c, JSON.stringify(r.crashes)).toBeDefined();
      expect(existsSync(c!.file)).toBe(true);
      expect(readFileSync(c!.file).includes(0x42)).toBe(true);
      // It went on after the bad input.
      expect(r.restarts).toBeGreaterThan(0);
      expect(r.inputs).toBeGreaterThan(c!.index);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
