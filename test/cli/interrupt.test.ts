/**
 * SIGINT during a long read: the command stops reading, reports what it read, and says on
 * stderr that the input was cut short (files are read synchronously, so this needs the read loop
 * to let the event loop turn now and then: pipeline/packets.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { interruptedRun, repoRoot } from '../helpers/cli.js';

const capture = readFileSync(join(repoRoot, 'fixtures', 'lab', 'killed', 'lb-any.pcap'));
const said = /^stalepin: warning: interrupted: stopped reading after (\d+) bytes; what was read before is reported, the rest of the input is not$/m;

describe('SIGINT while reading a capture', () => {
  it('calls on one thread: the calls read so far, and the warning', async () => {
    const r = await interruptedRun(['calls', '-f', 'csv'], capture, { STALEPIN_THREADS: '1' });
    expect(r.code).toBe(0);
    expect(r.err).toMatch(said);
    expect(Number(said.exec(r.err)![1])).toBeLessThanOrEqual(capture.length);
    expect(r.out.startsWith('call_id,')).toBe(true);
  });

  it('analyze on one thread: the report of what was read, with the warning in it', async () => {
    const r = await interruptedRun(['analyze', '-f', 'json', '--fail-on', 'never'], capture, { STALEPIN_THREADS: '1' });
    expect(r.code).toBe(0);
    expect(r.err).toMatch(said);
    expect(r.out).toContain('interrupted: stopped reading after');
  });
});
