import { describe, expect, it } from 'vitest';
import { collectGarbage } from '../../src/core/collect.js';

describe('collectGarbage', () => {
  it('runs a full collection (an object only weakly held is gone after it) and leaves the global scope as it was', async () => {
    const hadGc = 'gc' in globalThis;
    let ref: WeakRef<object> | undefined;
    (() => {
      ref = new WeakRef({ big: new Array(1000).fill(1) });
    })();
    // WeakRef targets survive until the end of the current job.
    await new Promise((r) => setTimeout(r, 0));
    collectGarbage();
    collectGarbage();
    expect(ref!.deref()).toBeUndefined();
    expect('gc' in globalThis).toBe(hadGc);
  });
});
