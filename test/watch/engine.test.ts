/**
 * The watch engine on recorded real-kernel failovers (fixtures/lab, replayed on their own
 * clock) and on small synthetic exchanges: when the pinned flow is flagged, that nothing else
 * is, and that new / update / resolved follow what the traffic does.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Anomalies } from '../../src/core/anomalies.js';
import { newFrame } from '../../src/capture/types.js';
import { parseInventoryText } from '../../src/inventory/index.js';
import { FrameStage } from '../../src/pipeline/packets.js';
import { WatchEngine, type WatchEvent } from '../../src/watch/engine.js';
import { sipInvite, udp4Frame } from '../gen/packets.js';
import { replayCase, type Evidence } from './replay.js';

const LAB = path.resolve(__dirname, '..', '..', 'fixtures', 'lab');

interface Truth {
  deadBackend: string;
  pinned: { client: string; target: string; lostCallIds: string[] }[];
  lostCallIds: string[];
  mustNotFlag: { client: string; transport: string }[];
  calls: { callId: string; firstSentAt: string }[];
}

// 'early': flagged within 1.6 s of the first lost INVITE (its second retransmission is at 1.5 s).
// 'timer-b': nothing says the backend is dead before timer B (the only ICMP error names the
// service address: the kernel translated the quoted packet back), so nothing may come early.
const CASES: { variant: string; evidence: Evidence[]; expect: 'early' | 'timer-b' }[] = [
  { variant: 'killed', evidence: ['capture'], expect: 'early' }, // ICMP port unreachable from A
  { variant: 'killed', evidence: ['nodes'], expect: 'early' },
  { variant: 'killed', evidence: ['nft'], expect: 'early' },
  { variant: 'killed', evidence: ['events', 'nft'], expect: 'early' },
  { variant: 'link-down', evidence: ['capture'], expect: 'timer-b' },
  { variant: 'link-down', evidence: ['nodes'], expect: 'early' }, // no egress copy: the mapping of the flow's last answered INVITE
  { variant: 'link-down', evidence: ['nft'], expect: 'early' },
  { variant: 'link-down', evidence: ['events', 'nft'], expect: 'early' }, // conntrack event names A
  { variant: 'link-down', evidence: ['events'], expect: 'timer-b' },
  { variant: 'netns-deleted', evidence: ['capture'], expect: 'timer-b' },
  { variant: 'netns-deleted', evidence: ['nodes'], expect: 'early' },
  { variant: 'netns-deleted', evidence: ['events', 'nft'], expect: 'early' },
  { variant: 'ipv6', evidence: ['capture'], expect: 'early' },
  { variant: 'ipv6', evidence: ['nft'], expect: 'early' },
  { variant: 'fragmented', evidence: ['nodes'], expect: 'early' },
  { variant: 'fragmented', evidence: ['events', 'nft'], expect: 'early' },
];

describe('watch engine on the recorded lab failovers', () => {
  for (const c of CASES) {
    it(`${c.variant} with ${c.evidence.join('+')}: ${c.expect === 'early' ? 'flagged within two retransmissions' : 'nothing before timer B'}; no fresh-port or TCP flow flagged`, async () => {
      const dir = path.join(LAB, c.variant);
      const truth = JSON.parse(readFileSync(path.join(dir, 'truth.json'), 'utf8')) as Truth;
      const pinned = truth.pinned[0]!;
      const firstLost = Math.min(...truth.calls.filter((x) => truth.lostCallIds.includes(x.callId)).map((x) => Date.parse(x.firstSentAt) / 1000));
      const r = await replayCase(dir, c.evidence);
      const hit = r.events.find((e) => e.event === 'new' && e.finding.kind === 'pinned-flow' && e.finding.client === pinned.client);
      if (c.expect === 'early') {
        expect(hit, 'a pinned-flow event').toBeDefined();
        expect(hit!.finding.target).toBe(truth.deadBackend);
        expect(hit!.finding.severity).toBe('critical');
        const latency = Date.parse(hit!.at) / 1000 - firstLost;
        expect(latency).toBeGreaterThan(0.4);
        expect(latency).toBeLessThan(1.6);
        // Every lost call is on it by the end, as updates.
        const last = [...r.events].reverse().find((e) => e.finding.kind === 'pinned-flow' && e.finding.client === pinned.client)!;
        expect(last.event).not.toBe('resolved');
        expect([...last.finding.callIds].sort()).toEqual([...pinned.lostCallIds].sort());
      } else {
        const early = r.events.filter((e) => e.event === 'new' && Date.parse(e.at) / 1000 < firstLost + 30);
        expect(early.map((e) => `${e.finding.kind} ${e.finding.client}`)).toEqual([]);
      }
      for (const e of r.events) expect(truth.mustNotFlag.some((m) => m.client === e.finding.client && m.transport === e.finding.transport), `${e.event} ${e.finding.kind} ${e.finding.client}`).toBe(false);
      // The final evaluation is analyze's answer.
      const final = r.final.result.findings.find((f) => f.kind === 'pinned-flow' && f.client === pinned.client);
      expect(final?.target).toBe(truth.deadBackend);
      expect([...final!.callIds].sort()).toEqual([...pinned.lostCallIds].sort());
    });
  }
});

// ---- synthetic exchanges: a client behind a DNAT balancer, backend A declared terminated ----

const C = '203.0.113.2';
const VIP = '203.0.113.10';
const A = '198.51.100.11';

interface Step {
  t: number;
  frame: Uint8Array;
}

function invite(t: number, call: string, sport = 5080, forward = true): Step[] {
  const msg = sipInvite(call, 1, call, `alice@${C}`, `bob@${VIP}`, `${C}:${sport}`);
  const out: Step[] = [{ t, frame: udp4Frame(C, sport, VIP, 5060, msg) }];
  if (forward) out.push({ t: t + 0.0002, frame: udp4Frame(C, sport, A, 5060, msg) });
  return out;
}

function response(t: number, call: string, code: number, sport = 5080): Step {
  const msg =
    `SIP/2.0 ${code} ${code === 200 ? 'OK' : 'Ringing'}\r\nVia: SIP/2.0/UDP ${C}:${sport};branch=z9hG4bK${call};rport\r\n` +
    `From: <sip:alice@${C}>;tag=f${call}\r\nTo: <sip:bob@${VIP}>;tag=x\r\nCall-ID: ${call}\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`;
  return { t, frame: udp4Frame(VIP, 5060, C, sport, msg) };
}

/** Timer A retransmissions at 0.5, 1.5, 3.5 s after t. */
function lostInvite(t: number, call: string, retransmissions = 3): Step[] {
  const out = invite(t, call);
  for (const d of [0.5, 1.5, 3.5].slice(0, retransmissions)) out.push(...invite(t + d, call));
  return out;
}

function run(steps: Step[], until: number, inventoryText = `${A}:5060 terminated 2026-01-01T00:00:00Z\n198.51.100.21:5060 active\n`): WatchEvent[] {
  const T0 = 1_800_000_000;
  const anomalies = new Anomalies();
  const engine = new WatchEngine({
    anomalies,
    sipPorts: [5060],
    timerBNs: 32e9,
    forwardWindowNs: 500e6,
    udpTimeoutS: 120,
    vips: [`${VIP}:5060`],
    inventory: parseInventoryText(inventoryText, 'inventory.txt'),
    captureLabel: 'synthetic',
  });
  const stage = new FrameStage(anomalies, () => 'synthetic', (p) => engine.packet(p));
  const events: WatchEvent[] = [];
  const frame = newFrame();
  const sorted = [...steps].sort((a, b) => a.t - b.t);
  let i = 0;
  for (let k = 0; k * 0.05 <= until + 1e-9; k++) {
    const now = Math.round(k * 5) / 100;
    while (i < sorted.length && sorted[i]!.t <= now) {
      const s = sorted[i++]!;
      const abs = T0 + s.t;
      frame.sec = Math.floor(abs);
      frame.nsec = Math.round((abs - frame.sec) * 1e9);
      frame.precision = 9;
      frame.linkType = 1;
      frame.buf = s.frame;
      frame.off = 0;
      frame.capLen = frame.origLen = s.frame.length;
      stage.push(frame);
    }
    const abs = T0 + now;
    const st = { sec: Math.floor(abs), nsec: Math.round((abs - Math.floor(abs)) * 1e9), precision: 9 };
    engine.advance(st);
    if (engine.dirty) events.push(...engine.evaluate(st).events);
  }
  return events;
}

const summary = (events: WatchEvent[]): string[] =>
  events.map((e) => `${(Date.parse(e.at) / 1000 - 1_800_000_000).toFixed(2)} ${e.event} ${e.finding.kind} ${e.finding.client} ${e.finding.callIds.length}`);

describe('watch engine on synthetic exchanges', () => {
  const cases: { name: string; steps: Step[]; until: number; inventory?: string; want: string[] }[] = [
    {
      name: 'an INVITE forwarded to a terminated backend is flagged at its first retransmission',
      steps: lostInvite(1, 'c1'),
      until: 5,
      want: ['1.50 new pinned-flow 203.0.113.2:5080 1'],
    },
    {
      name: 'a second lost call is an update, not a new finding',
      steps: [...lostInvite(1, 'c1'), ...lostInvite(3, 'c2')],
      until: 6,
      want: ['1.50 new pinned-flow 203.0.113.2:5080 1', '3.50 update pinned-flow 203.0.113.2:5080 2'],
    },
    {
      name: 'an INVITE answered after its retransmission resolves the early finding',
      steps: [...lostInvite(1, 'c1', 1), response(1.8, 'c1', 180), response(1.9, 'c1', 200)],
      until: 4,
      want: ['1.50 new pinned-flow 203.0.113.2:5080 1', '1.80 resolved pinned-flow 203.0.113.2:5080 1'],
    },
    {
      name: 'a later answered INVITE on the flow resolves it; a new lost call opens it again',
      steps: [...lostInvite(1, 'c1'), ...invite(6, 'c2'), response(6.01, 'c2', 200), ...lostInvite(9, 'c3')],
      until: 11,
      want: ['1.50 new pinned-flow 203.0.113.2:5080 1', '6.05 resolved pinned-flow 203.0.113.2:5080 1', '9.50 new pinned-flow 203.0.113.2:5080 2'],
    },
    {
      name: 'an active backend: nothing before timer B',
      steps: lostInvite(1, 'c1'),
      until: 8,
      inventory: `${A}:5060 active\n`,
      want: [],
    },
    {
      name: 'an answered INVITE to a terminated backend (the inventory is wrong) is never flagged',
      steps: [...invite(1, 'c1'), response(1.01, 'c1', 200)],
      until: 4,
      want: [],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(summary(run(c.steps, c.until, c.inventory))).toEqual(c.want);
    });
  }

  it('timer B ends INVITEs whose backend is not known dead: the finding comes then', () => {
    const events = run([...lostInvite(1, 'c1'), ...lostInvite(2, 'c2')], 35, `${A}:5060 active\n`);
    expect(summary(events)).toEqual(['34.00 new target-unresponsive * 2']);
    expect(events[0]!.finding.severity).toBe('critical');
  });
});
