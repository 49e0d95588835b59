import { describe, expect, it, vi } from 'vitest';
import { Writable } from 'node:stream';
import { progressBar } from '../../src/cli/progress.js';

class Term extends Writable {
  text = '';
  constructor(readonly isTTY: boolean, readonly columns = 100) {
    super();
  }
  override _write(c: Buffer, _e: string, cb: () => void): void {
    this.text += c.toString();
    cb();
  }
}

describe('progress line', () => {
  it('draws bytes, rate and time left on a terminal, then erases itself', () => {
    vi.useFakeTimers();
    const t = new Term(true);
    const p = progressBar(t, true);
    vi.advanceTimersByTime(1000);
    p.update(100e6, 400e6);
    expect(t.text).toMatch(/\[#{6}\.{18}\] 25% 100 MB of 400 MB, 100 MB\/s, 3 s left/);
    p.done();
    expect(t.text.endsWith('\r\x1b[2K')).toBe(true);
    vi.useRealTimers();
  });

  it.each([
    ['not a terminal', new Term(false), true],
    ['--quiet', new Term(true), false],
  ])('prints nothing when %s', (_n, term, enabled) => {
    vi.useFakeTimers();
    const p = progressBar(term, enabled);
    vi.advanceTimersByTime(1000);
    p.update(100e6, 400e6);
    p.done();
    expect(term.text).toBe('');
    vi.useRealTimers();
  });

  it('stays quiet for small inputs', () => {
    vi.useFakeTimers();
    const t = new Term(true);
    const p = progressBar(t, true);
    vi.advanceTimersByTime(1000);
    p.update(1e6, 2e6);
    expect(t.text).toBe('');
    vi.useRealTimers();
  });
});
