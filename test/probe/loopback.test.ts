/**
 * The probe against a SIP responder on 127.0.0.1 (real UDP and TCP sockets): every outcome,
 * timeouts, timer E retransmission, stray and late messages, several targets, the schedule.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Probe, type ProbeConfig, type ProbeEvent } from '../../src/probe/probe.js';
import { freeUdpPortPair } from '../helpers/ports.js';
import { defaultPolicy, type Policy, Responder } from './responder.js';

const responders: Responder[] = [];
afterEach(async () => {
  await Promise.all(responders.splice(0).map((r) => r.close()));
});

async function responder(opts: { tcp?: boolean } = {}): Promise<Responder> {
  const r = await Responder.start({ tcp: opts.tcp });
  responders.push(r);
  return r;
}

/** Fast timers so a timeout costs 300 ms, not 2 s; the RFC values have their own test. */
const FAST = { intervalMs: 50, timeoutMs: 300, timers: { t1Ms: 50, t2Ms: 200 } };

async function probe(cfg: Partial<ProbeConfig> & { targets: string[] }, setup?: (p: Probe) => void): Promise<{ events: ProbeEvent[]; summary: Awaited<ReturnType<Probe['run']>>; probe: Probe }> {
  const p = await Probe.start({ transport: 'udp', count: 1, ...FAST, ...cfg });
  setup?.(p);
  const events: ProbeEvent[] = [];
  const summary = await p.run((e) => void events.push(e));
  return { events, summary, probe: p };
}

type PolicyCase = [name: string, policy: (fixedPort: number) => Partial<Policy>, outcome: string, fixedCode: number | null, freshCode: number | null];

const policyCases: PolicyCase[] = [
  ['answers both', () => ({}), 'ok', 200, 200],
  ['ignores the fixed port (a pinned tuple)', (fp) => ({ ignorePorts: new Set([fp]) }), 'pinned', null, 200],
  ['ignores everything (down)', () => ({ ignoreAll: true }), 'down', null, null],
  ['answers only the fixed port', (fp) => ({ onlyPorts: new Set([fp]) }), 'fresh-only-fail', 200, null],
  ['answers 404: still reachable', () => ({ code: 404, reason: 'Not Found' }), 'ok', 404, 404],
  ['answers 405: still reachable', () => ({ code: 405, reason: 'Method Not Allowed' }), 'ok', 405, 405],
  ['answers 483: still reachable', () => ({ code: 483, reason: 'Too Many Hops' }), 'ok', 483, 483],
  ['answers 503: still reachable', () => ({ code: 503, reason: 'Service Unavailable' }), 'ok', 503, 503],
  ['answers 100 Trying: still reachable', () => ({ code: 100, reason: 'Trying' }), 'ok', 100, 100],
];

describe.each(['udp', 'tcp'] as const)('outcomes over %s', (transport) => {
  it.each(policyCases)('responder %s: %s', async (_name, policy, outcome, fixedCode, freshCode) => {
    const r = await responder({ tcp: true });
    const { events } = await probe({ targets: [transport === 'udp' ? r.udpTarget : r.tcpTarget], transport }, (p) => {
      r.policy = { ...defaultPolicy(), ...policy(p.targets()[0]!.fixedPort) };
    });
    expect(events).toHaveLength(1);
    const e = events[0]!;
    expect(e.outcome).toBe(outcome);
    expect([e.fixed.code, e.fresh.code]).toEqual([fixedCode, freshCode]);
    expect(e.transport).toBe(transport);
    for (const side of [e.fixed, e.fresh]) {
      if (side.code === null) {
        expect(side.error).toBe('timeout');
        expect(side.rttMs).toBeNull();
      } else {
        expect(side.error).toBeNull();
        expect(side.rttMs).toBeGreaterThan(0);
        expect(side.rttMs).toBeLessThan(FAST.timeoutMs);
        expect(side.responder).toBe(transport === 'udp' ? r.udpTarget : r.tcpTarget);
      }
    }
    // The responder saw both sides, from the ports the event names.
    expect(r.from(e.fixedPort).length).toBeGreaterThan(0);
    expect(r.from(e.freshPort).length).toBeGreaterThan(0);
    expect(e.fixedPort).not.toBe(e.freshPort);
  });
});

describe('IPv6', () => {
  it.each(['udp', 'tcp'] as const)('%s to [::1]: Via and Contact carry the bracketed address', async (transport) => {
    let r: Responder;
    try {
      r = await Responder.start({ host: '::1', tcp: true });
    } catch (e) {
      console.log(`probe IPv6 loopback test skipped: cannot bind ::1 (${(e as NodeJS.ErrnoException).code})`);
      return;
    }
    responders.push(r);
    const { events } = await probe({ targets: [transport === 'udp' ? r.udpTarget : r.tcpTarget], transport }, (p) => {
      r.policy.ignorePorts.add(p.targets()[0]!.fixedPort);
    });
    const e = events[0]!;
    expect(e.outcome).toBe('pinned');
    expect(e.target).toMatch(/^\[::1\]:\d+$/);
    expect(e.fresh.responder).toBe(e.target);
    const req = r.from(e.freshPort)[0]!.text;
    expect(req).toMatch(new RegExp(`\r\nVia: SIP/2\.0/${transport.toUpperCase()} \\[::1\\]:${e.freshPort};branch=z9hG4bK`));
    expect(req).toContain(`\r\nCall-ID: `);
    expect(req).toMatch(/^OPTIONS sip:\[::1\]:\d+ SIP\/2\.0\r\n/);
  });
});

describe('ports across rounds', () => {
  it.each(['udp', 'tcp'] as const)('%s: the fixed port is kept for the run, the fresh port changes every round', async (transport) => {
    const r = await responder({ tcp: true });
    const { events } = await probe({ targets: [transport === 'udp' ? r.udpTarget : r.tcpTarget], transport, count: 4 });
    expect(events.map((e) => e.round)).toEqual([1, 2, 3, 4]);
    expect(new Set(events.map((e) => e.fixedPort)).size).toBe(1);
    expect(new Set(events.map((e) => e.freshPort)).size).toBe(4);
    expect(events.every((e) => e.outcome === 'ok')).toBe(true);
    const fixed = r.from(events[0]!.fixedPort);
    expect(fixed).toHaveLength(4);
    // A new transaction and Call-ID each round; CSeq counts up on the fixed port.
    expect(new Set(fixed.map((x) => x.branch)).size).toBe(4);
    expect(new Set(fixed.map((x) => x.callId)).size).toBe(4);
    expect(fixed.map((x) => /CSeq: (\d+) OPTIONS/.exec(x.text)![1])).toEqual(['1', '2', '3', '4']);
    if (transport === 'tcp') {
      // One connection for the fixed port: the server saw one peer port, and it is the fixed one.
      expect(fixed.every((x) => x.transport === 'tcp')).toBe(true);
    }
  });

  it('--fixed-port N gives targets N, N+1, ... and a busy port is refused with exit code 2', async () => {
    const r1 = await responder();
    const r2 = await responder();
    const base = await freeUdpPortPair();
    const { events } = await probe({ targets: [r1.udpTarget, r2.udpTarget], fixedPorts: [base] });
    expect(events.map((e) => e.fixedPort)).toEqual([base, base + 1]);
    expect(r1.from(base)).toHaveLength(1);
    expect(r2.from(base + 1)).toHaveLength(1);

    const busy = dgram.createSocket('udp4');
    await new Promise<void>((res) => busy.bind(0, '0.0.0.0', () => res()));
    try {
      const port = busy.address().port;
      await expect(Probe.start({ targets: [r1.udpTarget], fixedPorts: [port], transport: 'udp', ...FAST })).rejects.toMatchObject({
        exitCode: 2,
        message: `--fixed-port ${port}: UDP port in use (EADDRINUSE)`,
      });
    } finally {
      busy.close();
    }
  });

  it('rounds start on a fixed schedule that does not drift', async () => {
    const r = await responder();
    const { events } = await probe({ targets: [r.udpTarget], count: 5, intervalMs: 250 });
    const t = events.map((e) => Date.parse(e.at));
    // Anchored to the first round: a late timer delays one round, not every later one.
    t.forEach((x, k) => expect(Math.abs(x - t[0]! - k * 250)).toBeLessThan(120));
  });

  it('a round that overruns the interval delays the next one, with no burst to catch up', async () => {
    const r = await responder();
    r.policy.delayMs = 400;
    const { events } = await probe({ targets: [r.udpTarget], count: 4, intervalMs: 100, timeoutMs: 1000, timers: { t1Ms: 1000, t2Ms: 4000 } });
    expect(events.every((e) => e.outcome === 'ok')).toBe(true);
    const t = events.map((e) => Date.parse(e.at));
    for (let k = 1; k < t.length; k++) expect(t[k]! - t[k - 1]!).toBeGreaterThanOrEqual(395);
  });
});

describe('timeouts and retransmission', () => {
  it('UDP: timer E per RFC 3261 (T1 500 ms doubling) until the 2 s timeout: copies at 0, 0.5 and 1.5 s, identical', async () => {
    const r = await responder();
    r.policy.ignoreAll = true;
    const p = await Probe.start({ targets: [r.udpTarget], transport: 'udp', count: 1, intervalMs: 1000, timeoutMs: 2000 });
    const events: ProbeEvent[] = [];
    const t0 = Date.now();
    await p.run((e) => void events.push(e));
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(1990);
    expect(took).toBeLessThan(2600);
    const e = events[0]!;
    expect(e.outcome).toBe('down');
    expect([e.fixed.sent, e.fresh.sent]).toEqual([3, 3]);
    for (const port of [e.fixedPort, e.freshPort]) {
      const copies = r.from(port);
      expect(copies).toHaveLength(3);
      expect(new Set(copies.map((c) => c.text)).size).toBe(1);
      const at = copies.map((c) => c.atMs - copies[0]!.atMs);
      expect(Math.abs(at[1]! - 500)).toBeLessThan(120);
      expect(Math.abs(at[2]! - 1500)).toBeLessThan(150);
    }
  });

  it('UDP: the retransmission interval doubles and is capped at T2', async () => {
    const r = await responder();
    r.policy.ignoreAll = true;
    const { events } = await probe({ targets: [r.udpTarget], timeoutMs: 1950, timers: { t1Ms: 100, t2Ms: 400 } });
    const copies = r.from(events[0]!.fixedPort);
    // Sends at 0, 100, 300, 700, 1100, 1500, 1900.
    expect(copies).toHaveLength(7);
    expect(events[0]!.fixed.sent).toBe(7);
    const gaps = copies.slice(1).map((c, i) => c.atMs - copies[i]!.atMs);
    const want = [100, 200, 400, 400, 400, 400];
    gaps.forEach((g, i) => expect(Math.abs(g - want[i]!)).toBeLessThan(90));
  });

  it('UDP: a response to a retransmission answers the transaction (rtt from the first copy)', async () => {
    const r = await responder();
    r.policy.dropFirst = 2;
    const { events } = await probe({ targets: [r.udpTarget], timeoutMs: 1000, timers: { t1Ms: 100, t2Ms: 400 } });
    const e = events[0]!;
    expect(e.outcome).toBe('ok');
    expect([e.fixed.sent, e.fresh.sent]).toEqual([3, 3]);
    // Third copy leaves at 300 ms.
    expect(e.fixed.rttMs!).toBeGreaterThanOrEqual(290);
    expect(e.fixed.rttMs!).toBeLessThan(500);
  });

  it('TCP: one transmission, no timer E (a reliable transport)', async () => {
    const r = await responder({ tcp: true });
    r.policy.ignoreAll = true;
    const { events } = await probe({ targets: [r.tcpTarget], transport: 'tcp', timeoutMs: 600, timers: { t1Ms: 50, t2Ms: 100 } });
    const e = events[0]!;
    expect(e.outcome).toBe('down');
    expect([e.fixed.sent, e.fresh.sent]).toEqual([1, 1]);
    expect(r.from(e.fixedPort)).toHaveLength(1);
    expect(r.from(e.freshPort)).toHaveLength(1);
  });

  it.each([
    ['answers within the timeout', 150, 'ok'],
    ['answers after the timeout', 450, 'down'],
  ] as const)('UDP: a server that %s', async (_n, delayMs, outcome) => {
    const r = await responder();
    r.policy.delayMs = delayMs;
    r.policy.dropFirst = 0;
    const { events, summary } = await probe({ targets: [r.udpTarget], count: 2, intervalMs: 600, timeoutMs: 300, timers: { t1Ms: 1000, t2Ms: 4000 } });
    expect(events.map((e) => e.outcome)).toEqual([outcome, outcome]);
    if (outcome === 'ok') {
      expect(events[0]!.fixed.rttMs!).toBeGreaterThanOrEqual(delayMs - 5);
      expect(summary.late).toBe(0);
    } else {
      // The first round's late answer on the fixed port arrives between rounds and is counted
      // as late (not stray) with the second round; the fresh port is closed by then.
      expect(events[1]!.late).toBeGreaterThanOrEqual(1);
      expect(events.every((e) => e.stray === 0)).toBe(true);
    }
  });

  it('TCP: connection refused is a failure with its error, at once', async () => {
    const closed = await closedTcpPort();
    const t0 = Date.now();
    const { events } = await probe({ targets: [`127.0.0.1:${closed}`], transport: 'tcp', timeoutMs: 2000 });
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(events[0]!.outcome).toBe('down');
    expect([events[0]!.fixed.error, events[0]!.fresh.error]).toEqual(['ECONNREFUSED', 'ECONNREFUSED']);
  });

  it('TCP: the fixed connection reconnects from the same port after the server drops it', async () => {
    const r = await responder({ tcp: true });
    const p = await Probe.start({ targets: [r.tcpTarget], transport: 'tcp', count: 4, ...FAST, intervalMs: 200 });
    const fixedPort = p.targets()[0]!.fixedPort;
    const events: ProbeEvent[] = [];
    await p.run(async (e) => {
      events.push(e);
      if (e.round === 1) r.dropConnections();
      if (e.round === 3) await r.close();
    });
    expect(events.map((e) => e.outcome)).toEqual(['ok', 'ok', 'ok', 'down']);
    expect(events.every((e) => e.fixedPort === fixedPort)).toBe(true);
    // Rounds 1 and 2 on two connections from the fixed port, round 3 on the second; fresh
    // connections in between.
    expect(r.tcpPeers.filter((port) => port === fixedPort)).toHaveLength(2);
    expect(events[3]!.fixed.error).toBe('ECONNREFUSED');
  });
});

describe('stray and late messages', () => {
  const junk: [string, Partial<Policy>, number, number, string][] = [
    ['garbage before the answer', { junkBefore: [() => 'hello, not SIP\r\n\r\n'] }, 1, 0, 'probe_stray_not_sip'],
    ['a request before the answer', { junkBefore: [() => 'OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKx\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n'] }, 1, 0, 'probe_stray_request'],
    [
      'a response for another branch before the answer',
      { junkBefore: [() => 'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKother\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nContent-Length: 0\r\n\r\n'] },
      1,
      0,
      'probe_stray_unmatched',
    ],
    ['every answer twice', { duplicate: true }, 0, 1, 'probe_late_response'],
  ];
  it.each(junk)('%s: ignored and counted, the round is still ok', async (_n, policy, stray, late, anomaly) => {
    const r = await responder();
    Object.assign(r.policy, policy);
    const { events, summary } = await probe({ targets: [r.udpTarget], count: 2, intervalMs: 100 });
    expect(events.map((e) => e.outcome)).toEqual(['ok', 'ok']);
    // Two rounds, two sides each: the fixed side's extra message of round 2 can arrive after the event.
    // Junk comes before each answer, on both sides; a duplicate answer reaches only the fixed
    // port (the fresh socket is closed once answered), the last one maybe after the run.
    expect(events.map((e) => e.stray)).toEqual([stray * 2, stray * 2]);
    expect(summary.stray).toBe(stray * 4);
    expect(summary.late).toBeGreaterThanOrEqual(late);
    expect(events[1]!.late).toBe(late);
    expect(summary.anomalies.map((a) => a.name)).toEqual([anomaly]);
  });

  it('a response with the right branch but another Call-ID does not answer the transaction', async () => {
    const r = await responder();
    r.policy.wrongCallId = true;
    const { events, summary } = await probe({ targets: [r.udpTarget] });
    expect(events[0]!.outcome).toBe('down');
    expect(summary.stray).toBeGreaterThan(0);
    expect(summary.anomalies.map((a) => a.name)).toEqual(['probe_stray_unmatched']);
  });

  it('a datagram from anywhere to the fixed port between rounds is counted as stray', async () => {
    const r = await responder();
    const p = await Probe.start({ targets: [r.udpTarget], transport: 'udp', count: 2, ...FAST, intervalMs: 300 });
    const fixedPort = p.targets()[0]!.fixedPort;
    const events: ProbeEvent[] = [];
    await p.run(async (e) => {
      events.push(e);
      if (e.round === 1) {
        const s = dgram.createSocket('udp4');
        await new Promise<void>((res) => s.send(Buffer.from('\x16\x03\x01 not sip at all'), fixedPort, '127.0.0.1', () => res()));
        s.close();
      }
    });
    expect(events.map((e) => [e.outcome, e.stray])).toEqual([
      ['ok', 0],
      ['ok', 1],
    ]);
  });
});

describe('several targets', () => {
  it('each target has its own fixed port and outcome; events come in target order per round', async () => {
    const [a, b, c] = [await responder(), await responder(), await responder()];
    const { events, summary } = await probe({ targets: [a.udpTarget, b.udpTarget, c.udpTarget], count: 2, intervalMs: 100 }, (p) => {
      const [, tb] = p.targets();
      b.policy.ignorePorts.add(tb!.fixedPort);
      c.policy.ignoreAll = true;
    });
    expect(events.map((e) => [e.round, e.target, e.outcome])).toEqual([
      [1, a.udpTarget, 'ok'],
      [1, b.udpTarget, 'pinned'],
      [1, c.udpTarget, 'down'],
      [2, a.udpTarget, 'ok'],
      [2, b.udpTarget, 'pinned'],
      [2, c.udpTarget, 'down'],
    ]);
    expect(new Set(events.map((e) => e.fixedPort)).size).toBe(3);
    expect(summary.outcomes).toEqual({ ok: 2, pinned: 2, down: 2, 'fresh-only-fail': 0 });
    // The targets are probed at the same time: one round lasts one timeout, not three.
    expect(Date.parse(events[3]!.at) - Date.parse(events[0]!.at)).toBeLessThan(FAST.timeoutMs * 2 + 200);
  });
});

describe('stopping', () => {
  it('the signal ends a run without --count; the round in flight is dropped and the ports are released', async () => {
    const r = await responder();
    r.policy.delayMs = 300;
    const fixedPort = (await freeUdpPortPair()) + 1;
    const p = await Probe.start({ targets: [r.udpTarget], fixedPorts: [fixedPort], transport: 'udp', intervalMs: 150, timeoutMs: 1000 });
    const ac = new AbortController();
    const events: ProbeEvent[] = [];
    const done = p.run((e) => {
      events.push(e);
      // Abort in the middle of round 3.
      if (e.round === 2) setTimeout(() => ac.abort(), 200);
    }, ac.signal);
    const summary = await done;
    expect(summary.aborted).toBe(true);
    expect(summary.rounds).toBe(2);
    expect(events.map((e) => e.round)).toEqual([1, 2]);
    // The fixed port is free again.
    const s = dgram.createSocket('udp4');
    await new Promise<void>((res, rej) => {
      s.once('error', rej);
      s.bind(fixedPort, '0.0.0.0', () => res());
    });
    s.close();
  });
});

describe('stopping a TCP probe', () => {
  it('the signal ends a transaction that waits for an answer at once', async () => {
    const r = await responder({ tcp: true });
    r.policy.ignoreAll = true;
    const p = await Probe.start({ targets: [r.tcpTarget], transport: 'tcp', intervalMs: 1000, timeoutMs: 10_000 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const t0 = Date.now();
    const summary = await p.run(() => undefined, ac.signal);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(summary).toMatchObject({ aborted: true, rounds: 0 });
  });
});

function closedTcpPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}
