/** Targets with planted bugs, to show the harness catches each kind of failure. */
import { StalepinError } from '../../src/core/errors.js';
import type { FuzzTarget } from './targets.js';

const base = { text: false, maxLen: 64, seeds: async (): Promise<Uint8Array[]> => [Uint8Array.of(0x41, 0x41, 0x41, 0x41)] };

export const targets: FuzzTarget[] = [
  {
    ...base,
    name: 'planted-throw',
    run(b) {
      if (b.includes(0x42)) throw new TypeError('planted');
      throw new StalepinError('bad_input', 'refused cleanly');
    },
  },
  {
    ...base,
    name: 'planted-internal',
    run(b) {
      if (b.includes(0x42)) throw new StalepinError('internal', 'planted internal error');
    },
  },
  {
    ...base,
    name: 'planted-slow',
    run(b) {
      if (!b.includes(0x42)) return;
      const t = Date.now();
      while (Date.now() - t < 150);
    },
  },
  {
    ...base,
    name: 'planted-hang',
    run(b) {
      if (b.includes(0x42)) for (;;);
    },
  },
  {
    ...base,
    name: 'planted-oom',
    run(b) {
      if (!b.includes(0x42)) return;
      const keep: number[][] = [];
      for (;;) keep.push(new Array(1 << 16).fill(1));
    },
  },
];
