/**
 * Every input the fuzzer ever crashed on, once fixed, lives in test/fuzz/regressions/ as
 * <target>-<hash>.bin and is replayed here: it must end in a result or a clean error, in time.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOne } from './engine.js';
import { regressionsDir, targets } from './targets.js';

const names = readdirSync(regressionsDir).filter((n) => !n.startsWith('.')).sort();
const cases = names.filter((n) => n.endsWith('.bin'));

function targetOf(file: string) {
  const m = /^(.+)-[0-9a-f]{16}\.bin$/.exec(file);
  return m ? targets.find((t) => t.name === m[1]) : undefined;
}

describe('fuzz regressions', () => {
  it('every file names a target (<target>-<16 hex>.bin, optional .txt note)', () => {
    for (const n of names) {
      if (n.endsWith('.txt')) expect(cases).toContain(n.replace(/\.txt$/, '.bin'));
      else expect(targetOf(n), n).toBeDefined();
    }
    expect(cases.length).toBeGreaterThan(0);
  });

  it.each(cases)('%s', async (file) => {
    const t = targetOf(file)!;
    const r = await runOne(t, new Uint8Array(readFileSync(join(regressionsDir, file))));
    expect(r, r?.message).toBeUndefined();
  });
});
