import { describe, expect, it } from 'vitest';
import { histogramSamples, renderPrometheus } from '../../src/report/prometheus.js';

describe('prometheus text format', () => {
  it('writes HELP and TYPE, escapes label values', () => {
    const t = renderPrometheus([
      { name: 'stalepin_stale_pins', help: 'Stale pins.\nSecond line', type: 'gauge', samples: [{ labels: { service: '203.0.113.10:5060', target: 'a"b\\c\nd' }, value: 2 }] },
    ]);
    expect(t).toBe('# HELP stalepin_stale_pins Stale pins.\\nSecond line\n# TYPE stalepin_stale_pins gauge\nstalepin_stale_pins{service="203.0.113.10:5060",target="a\\"b\\\\c\\nd"} 2\n');
  });
  it('rejects invalid names', () => {
    expect(() => renderPrometheus([{ name: 'bad-name', help: '', type: 'gauge', samples: [] }])).toThrow(/invalid metric name/);
    expect(() => renderPrometheus([{ name: 'ok', help: '', type: 'gauge', samples: [{ labels: { 'bad-label': 'x' }, value: 1 }] }])).toThrow(/invalid label/);
  });
  it('histograms are cumulative', () => {
    const s = histogramSamples([0.01, 0.2, 0.3, 5], [0.05, 0.5, 1]);
    expect(s.map((x) => x.value)).toEqual([1, 3, 3, 4, 5.51, 4]);
    expect(s[3]!.labels).toEqual({ le: '+Inf' });
  });
});

describe('textfile to /dev/stdout', () => {
  it('works when stdout is a socket (Node gives a child a socket pair for piped stdio)', async () => {
    const { spawnSync } = await import('node:child_process');
    const { join } = await import('node:path');
    const { repoRoot } = await import('../helpers/cli.js');
    const mod = join(repoRoot, 'dist', 'report', 'prometheus.js');
    const code = `import(${JSON.stringify(mod)}).then((m) => m.writePromTextfile('/dev/stdout', [{ name: 'up', help: 'Up.', type: 'gauge', samples: [{ value: 1 }] }]))`;
    const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('# HELP up Up.\n# TYPE up gauge\nup 1\n');
  });
});
