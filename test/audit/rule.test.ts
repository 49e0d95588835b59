/**
 * The audit rule, the refresh judgement, the capability check and the interval loop, as tables
 * of hand-made cases.
 */
import { describe, expect, it } from 'vitest';
import { parseConntrackText } from '../../src/conntrack/parse.js';
import { parseInventoryText } from '../../src/inventory/index.js';
import { Auditor, type StaleCandidate } from '../../src/audit/rule.js';
import { judge, refreshedBetween, type RefreshPolicy } from '../../src/audit/judge.js';
import { hasNetAdmin } from '../../src/audit/fix.js';
import { nextDelay, runEvery } from '../../src/audit/schedule.js';

const VIP = '203.0.113.10';
const A = '198.51.100.11';
const B = '198.51.100.21';
const C = '198.51.100.31';

function udp(sport: number, target: string, extra = '[ASSURED]', timeout = 111, dst = VIP, dport = 5060): string {
  return `udp 17 ${timeout} src=203.0.113.2 dst=${dst} sport=${sport} dport=${dport} src=${target} dst=203.0.113.2 sport=5060 dport=${sport} ${extra} mark=0 use=1`;
}
function tcp(sport: number, target: string, state: string): string {
  return `tcp 6 431999 ${state} src=203.0.113.2 dst=${VIP} sport=${sport} dport=5060 src=${target} dst=203.0.113.2 sport=5060 dport=${sport} [ASSURED] mark=0 use=1`;
}

function audit(lines: string[], inventory: object, tcpToo = false): Auditor {
  const inv = parseInventoryText(JSON.stringify(inventory), 'inv.json');
  inv.services.push({ address: VIP, port: 5060 });
  const a = new Auditor({ inventory: inv, tcp: tcpToo, maxKept: 1000 });
  const { entries } = parseConntrackText(lines.join('\n') + '\n');
  for (const e of entries) a.add(e);
  return a;
}

const flagged = (a: Auditor): string[] => a.candidates.map((c) => `${c.entry.proto} ${c.entry.client} ${c.row.target} ${c.row.verdict}`).sort();

describe('Auditor: which entries are stale', () => {
  const nodes = { nodes: [{ address: A, port: 5060, state: 'terminated' }, { address: B, port: 5060, state: 'active' }, { address: C, port: 5060, state: 'draining' }] };
  it.each([
    ['reply from a terminated backend', [udp(5080, A)], nodes, ['udp 203.0.113.2:5080 198.51.100.11:5060 terminated']],
    ['reply from an active backend', [udp(5080, B)], nodes, []],
    ['reply from a draining backend (existing flows are meant to go on)', [udp(5080, C)], nodes, []],
    ['reply from a backend the set does not list', [udp(5080, '198.51.100.99')], nodes, ['udp 203.0.113.2:5080 198.51.100.99:5060 absent']],
    ['not a service address', [udp(5080, A, '[ASSURED]', 111, '203.0.113.99')], nodes, []],
    ['service address, other port', [udp(5080, A, '[ASSURED]', 111, VIP, 5070)], nodes, []],
    ['not forwarded (the reply comes from the service itself)', [udp(5080, VIP)], nodes, []],
    ['empty pool: never judged', [udp(5080, A)], { nodes: [{ address: A, port: 5060, state: 'terminated' }] }, []],
    ['TCP ignored without --tcp', [tcp(5092, A, 'ESTABLISHED')], nodes, []],
  ] as const)('%s', (_name, lines, inv, want) => {
    expect(flagged(audit([...lines], inv))).toEqual(want);
  });

  it.each([
    ['ESTABLISHED', true],
    ['SYN_SENT', true],
    ['TIME_WAIT', false],
    ['CLOSE', false],
    ['FIN_WAIT', false],
    ['CLOSE_WAIT', false],
  ] as const)('--tcp: a connection to a dead backend in %s is flagged: %s', (state, want) => {
    const a = audit([tcp(5092, A, state)], nodes, true);
    expect(a.candidates.length).toBe(want ? 1 : 0);
    expect(a.tcpClosing).toBe(want ? 0 : 1);
  });

  it('an empty pool is reported as such, and rows still count its entries', () => {
    const a = audit([udp(5080, A), udp(5081, A)], { nodes: [{ address: A, port: 5060, state: 'terminated' }] });
    expect(a.serviceSets()).toEqual([{ service: `${VIP}:5060`, protocol: 'udp', active: [] }]);
    const rows = a.rowsSorted();
    expect(rows.map((r) => [r.target, r.entries, r.stale, r.unverified])).toEqual([[`${A}:5060`, 2, 0, true]]);
  });

  it('rows group by service and target, most entries first', () => {
    const a = audit([udp(1, A), udp(2, B), udp(3, B), udp(4, A, ''), udp(5, A, '[UNREPLIED]')], nodes);
    expect(a.rowsSorted().map((r) => [r.target, r.entries, r.assured, r.unreplied, r.stale])).toEqual([
      [`${A}:5060`, 3, 1, 1, 3],
      [`${B}:5060`, 2, 2, 0, 0],
    ]);
  });

  it('keeps at most maxKept copies and counts the rest', () => {
    const inv = parseInventoryText(JSON.stringify(nodes), 'inv.json');
    inv.services.push({ address: VIP, port: 5060 });
    const a = new Auditor({ inventory: inv, tcp: false, maxKept: 2 });
    for (const e of parseConntrackText([udp(1, A), udp(2, A), udp(3, A)].join('\n')).entries) a.add(e);
    expect(a.candidates.length).toBe(2);
    expect(a.dropped).toBe(1);
    expect(a.rowsSorted()[0]!.stale).toBe(3);
  });
});

describe('judge: critical when assured and still refreshed', () => {
  const policy: RefreshPolicy = { streamTimeoutS: 120, streamTimeoutFrom: 'default', refreshedWithinS: 60, ipvs: false };
  const cand = (line: string, proto: 'udp' | 'tcp' = 'udp'): StaleCandidate => ({
    entry: parseConntrackText(line).entries[0]!,
    row: { service: '', target: '', targetIp: '', protocol: proto, verdict: 'absent', unverified: false, entries: 1, assured: 0, unreplied: 0, stale: 1 },
  });
  it.each([
    ['assured, last packet 9 s ago', udp(5080, A, '[ASSURED]', 111), undefined, 'critical', 9],
    ['assured, last packet 60 s ago (the bound)', udp(5080, A, '[ASSURED]', 60), undefined, 'critical', 60],
    ['assured, last packet 61 s ago', udp(5080, A, '[ASSURED]', 59), undefined, 'warning', 61],
    ['assured, idle, but a second read saw a refresh', udp(5080, A, '[ASSURED]', 20), { afterS: 2, gone: false, timeout: 119, packets: -1, refreshed: true }, 'critical', 100],
    ['not assured (replied once)', udp(5080, A, '', 29), undefined, 'warning', -1],
    ['never answered', udp(5080, A, '[UNREPLIED]', 29), undefined, 'warning', -1],
    ['offloaded', udp(5080, A, '[OFFLOAD] [ASSURED]', 111).replace(' 111 ', ' '), undefined, 'critical', -1],
  ] as const)('%s', (_n, line, recheck, severity, idle) => {
    const j = judge(cand(line), policy, recheck);
    expect(j.severity).toBe(severity);
    expect(j.idleS).toBe(idle);
  });
  it('TCP is always a warning', () => {
    expect(judge(cand(tcp(5092, A, 'ESTABLISHED'), 'tcp'), policy).severity).toBe('warning');
  });
  it('IPVS entries have no assured flag: the expiry alone tells', () => {
    const ipvs = { ...policy, ipvs: true, streamTimeoutS: 300 };
    const e = parseConntrackText('IPVS connection entries\npro expire state source virtual destination\nUDP 04:58 UDP 192.0.2.10:5060 203.0.113.11:5060 198.51.100.20:5060\n').entries[0]!;
    const c: StaleCandidate = { entry: e, row: cand(udp(1, A)).row };
    expect(judge(c, ipvs)).toMatchObject({ severity: 'critical', idleS: 2 });
    e.timeout = 100;
    expect(judge(c, ipvs)).toMatchObject({ severity: 'warning', idleS: 200 });
  });
});

describe('refreshedBetween: two reads of a timeout printed rounded down', () => {
  it.each([
    // t1, p1, t2, p2, gap, refreshed
    [100, -1, 98, -1, 2.0, false], // counted down by the gap
    [100, -1, 97, -1, 2.5, false],
    [100, -1, 99, -1, 2.0, true], // went down by less than the gap allows: reset
    [100, -1, 120, -1, 2.0, true],
    [119, -1, 118, -1, 2.0, true], // refreshed right after the first read
    [100, 5, 98, 7, 2.0, true], // counters grew
    [100, 5, 98, 5, 2.0, false],
    [100, -1, 100, -1, 0.5, false], // too short a gap to tell
  ] as const)('%i(%i) -> %i(%i) after %ss: %s', (t1, p1, t2, p2, gap, want) => {
    expect(refreshedBetween(t1, p1, t2, p2, gap)).toBe(want);
  });
});

describe('hasNetAdmin reads CapEff', () => {
  it.each([
    ['CapEff:\t000001ffffffffff\n', true],
    ['CapEff:\t0000000000001000\n', true],
    ['CapEff:\t0000000000000000\n', false],
    ['CapEff:\t0000000000000fff\n', false],
  ] as const)('%j -> %s', (status, want) => {
    expect(hasNetAdmin('Name:\tnode\n' + status)).toBe(want);
  });
});

describe('interval loop', () => {
  it.each([
    [60_000, 6000, 1000, 0.5, 59_000],
    [60_000, 6000, 1000, 0, 53_000],
    [60_000, 6000, 1000, 1, 65_000],
    [1000, 0, 5000, 0.3, 0], // a run longer than the interval: no wait
  ] as const)('interval %i jitter %i took %i random %s -> %i', (interval, jitter, took, r, want) => {
    expect(nextDelay(interval, jitter, took, () => r)).toBe(want);
  });

  it('runs until aborted; the abort ends the wait', async () => {
    const ac = new AbortController();
    const waits: number[] = [];
    const runs = await runEvery(
      {
        intervalMs: 1000,
        jitterMs: 100,
        signal: ac.signal,
        random: () => 0.5,
        now: () => 0,
        sleep: async (ms) => {
          waits.push(ms);
        },
      },
      async (n) => {
        if (n === 3) ac.abort();
      },
    );
    expect(runs).toBe(3);
    expect(waits).toEqual([1000, 1000]);
  });
});
