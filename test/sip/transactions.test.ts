import { describe, expect, it } from 'vitest';
import { Anomalies } from '../../src/core/anomalies.js';
import { MAGIC_COOKIE, SipMessage } from '../../src/sip/message.js';
import { parseSipMessage, SipParseStatus } from '../../src/sip/parser.js';
import { branchHasCookie, SipTracker, type SipCall, type SipTransaction, type TrackerOptions } from '../../src/sip/transactions.js';
import { newSipContext } from '../../src/sip/types.js';
import { request, response, sipText, type MsgOpts } from './helpers.js';

const CLIENT = '192.0.2.1:5060';
const VIP = '203.0.113.10:5060';
const BACKEND = '198.51.100.11:5060';
const LB_SNAT = '203.0.113.20:40000';
const PROXY = '203.0.113.30:5060';

/** One step: at time t (seconds), a message from src to dst. */
interface Step {
  t: number;
  src: string;
  dst: string;
  msg: Uint8Array;
}

interface Seen {
  txId: number;
  retransmission: boolean;
  forwardedCopy: boolean;
  callRef: number;
}

function drive(steps: Step[], opts: Partial<TrackerOptions> = {}, finishAt?: number) {
  const an = new Anomalies();
  const txs: SipTransaction[] = [];
  const calls: SipCall[] = [];
  const tr = new SipTracker({ anomalies: an, onTransaction: (t) => txs.push(t), onCall: (c) => calls.push(c), ...opts });
  const msg = new SipMessage();
  const ctx = newSipContext();
  const seen: Seen[] = [];
  const base = 1_700_000_000;
  for (const s of steps) {
    expect(parseSipMessage(s.msg, 0, s.msg.length, msg, an)).toBe(SipParseStatus.Ok);
    ctx.sec = base + Math.floor(s.t);
    ctx.nsec = Math.round((s.t - Math.floor(s.t)) * 1e9);
    ctx.src = s.src;
    ctx.dst = s.dst;
    const i = tr.track(msg, ctx);
    seen.push({ ...i });
  }
  const beforeFinish = { txs: txs.length, calls: calls.length, live: tr.liveTransactions };
  if (finishAt !== undefined) tr.advance(base + finishAt, 0);
  tr.finish();
  txs.sort((a, b) => a.id - b.id);
  return { txs, calls, seen, an, tr, beforeFinish };
}

const flags = (seen: Seen[]) => seen.map((s) => (s.retransmission ? 'R' : s.forwardedCopy ? 'F' : '.')).join('');

// A basic call, client side: INVITE, 100, 180, 200, ACK (new branch), BYE from the callee, 200.
const inv: MsgOpts = { callId: 'c1', branch: 'z9hG4bKinv1' };
const byeFromCallee: MsgOpts = {
  method: 'BYE',
  callId: 'c1',
  cseq: 5,
  branch: 'z9hG4bKbye1',
  via: '198.51.100.11:5060',
  from: 'bob@example.com',
  to: 'alice@example.com',
  fromTag: 'tt1',
  toTag: 'ft1',
};

describe('branchHasCookie', () => {
  it('is true for the RFC 3261 magic cookie followed by something, case and all', () => {
    for (const [branch, want] of [
      ['z9hG4bK776asdhds', true],
      ['z9hG4bKx', true],
      [MAGIC_COOKIE, false],
      ['z9hG4bk776asdhds', false],
      ['Z9hG4bK776asdhds', false],
      ['z9hG4b', false],
      ['', false],
      ['xz9hG4bK776', false],
      ['z9hG4bX776asdhds', false],
    ] as const) {
      expect(branchHasCookie(branch)).toBe(want);
      expect(branchHasCookie(branch)).toBe(branch.length > MAGIC_COOKIE.length && branch.startsWith(MAGIC_COOKIE));
    }
  });
});

describe('SipTracker: transactions', () => {
  it('a basic call: one INVITE transaction, ACK and BYE transactions, response times', () => {
    const r = drive([
      { t: 0, src: CLIENT, dst: BACKEND, msg: request(inv) },
      { t: 0.01, src: BACKEND, dst: CLIENT, msg: response(100, inv) },
      { t: 0.1, src: BACKEND, dst: CLIENT, msg: response(180, inv) },
      { t: 1, src: BACKEND, dst: CLIENT, msg: response(200, inv) },
      { t: 1.01, src: CLIENT, dst: BACKEND, msg: request({ ...inv, method: 'ACK', branch: 'z9hG4bKack1', toTag: 'tt1' }) },
      { t: 10, src: BACKEND, dst: CLIENT, msg: request(byeFromCallee) },
      { t: 10.01, src: CLIENT, dst: BACKEND, msg: response(200, byeFromCallee) },
    ]);
    expect(r.txs.map((t) => [t.method, t.state, t.final?.code ?? 0])).toEqual([
      ['INVITE', 'completed', 200],
      ['ACK', 'completed', 0],
      ['BYE', 'completed', 200],
    ]);
    const t = r.txs[0]!;
    expect(t.firstProvisional?.code).toBe(100);
    expect(t.firstResponseNs).toBe(10_000_000);
    expect(t.finalResponseNs).toBe(1e9);
    expect(t.rfc2543).toBe(false);
    expect(flags(r.seen)).toBe('.......');
    expect(new Set(r.seen.map((s) => s.callRef))).toEqual(new Set([1]));
    const c = r.calls[0]!;
    expect([c.state, c.finalCode, c.setupNs, c.ringNs, c.endReason, c.endSec - 1_700_000_000, c.messages]).toEqual(['completed', 200, 1e9, 0.1e9, 'bye', 10, 7]);
    expect([c.from, c.to, c.toTag]).toEqual(['sip:alice@example.com', 'sip:bob@example.com', 'tt1']);
    expect(c.addresses).toEqual([CLIENT, BACKEND]);
    expect(c.backends).toEqual([BACKEND]);
  });

  it('an INVITE answered with a 2xx lingers 2 s after its ACK, timer D (32 s) without one', () => {
    const ok = [
      { t: 0, src: CLIENT, dst: BACKEND, msg: request(inv) },
      { t: 0.1, src: BACKEND, dst: CLIENT, msg: response(200, inv) },
    ];
    const ack = { t: 0.2, src: CLIENT, dst: BACKEND, msg: request({ ...inv, method: 'ACK', branch: 'z9hG4bKack1', toTag: 'tt1' }) };
    const later = (t: number) => ({ t, src: CLIENT, dst: BACKEND, msg: request({ callId: 'other', branch: `z9hG4bKo${t}`, method: 'OPTIONS' }) });
    // ACK at 0.2 s: the INVITE is emitted at 2.2 s, the ACK's own transaction at 5.2 s (timer K).
    expect(drive([...ok, ack, later(2.1)]).beforeFinish.txs).toBe(0);
    const acked = drive([...ok, ack, later(3)]);
    expect(acked.beforeFinish.txs).toBe(1);
    expect(acked.txs[0]).toMatchObject({ method: 'INVITE', state: 'completed' });
    expect(drive([...ok, ack, later(6)]).beforeFinish.txs).toBe(2);
    // A 2xx retransmitted after the transaction is over is an orphan, not a retransmission of it.
    const retx = drive([...ok, ack, later(6), { t: 7, src: BACKEND, dst: CLIENT, msg: response(200, inv) }]);
    expect(retx.tr.stats.orphanResponses).toBe(1);
    // Without the ACK the 2xx may still be retransmitted: kept for timer D.
    const unacked = drive([...ok, later(6)]);
    expect(unacked.beforeFinish.txs).toBe(0);
    const d = drive([...ok, later(31), later(33)]);
    expect(d.beforeFinish.txs).toBe(1);
    // An ACK for another CSeq (another INVITE of the dialog) does not end this one early.
    const other = drive([...ok, { ...ack, msg: request({ ...inv, method: 'ACK', cseq: 7, branch: 'z9hG4bKack7', toTag: 'tt1' }) }, later(6)]);
    expect(other.txs.filter((t) => t.method === 'INVITE')).toHaveLength(1);
    expect(other.beforeFinish.txs).toBe(1); // the ACK's own transaction only
  });

  // INVITE, 100, 200 and the ACK of the 2xx (its own branch).
  const answeredInvite = [
      { t: 0, src: CLIENT, dst: BACKEND, msg: request(inv) },
      { t: 0.01, src: BACKEND, dst: CLIENT, msg: response(100, inv) },
      { t: 1, src: BACKEND, dst: CLIENT, msg: response(200, inv) },
      { t: 1.01, src: CLIENT, dst: BACKEND, msg: request({ ...inv, method: 'ACK', branch: 'z9hG4bKack1', toTag: 'tt1' }) },
  ];

  it('inviteOnly: the same INVITE transactions, nothing else, and the ACK still ends the linger', () => {
    const steps = [
      ...answeredInvite,
      { t: 2, src: CLIENT, dst: BACKEND, msg: request({ callId: 'o1', branch: 'z9hG4bKopt', method: 'OPTIONS' }) },
      { t: 2.1, src: BACKEND, dst: CLIENT, msg: response(200, { callId: 'o1', branch: 'z9hG4bKopt', method: 'OPTIONS' }) },
      { t: 7, src: BACKEND, dst: CLIENT, msg: request(byeFromCallee) },
      { t: 7.01, src: CLIENT, dst: BACKEND, msg: response(200, byeFromCallee) },
    ];
    const all = drive(steps, { calls: false });
    const only = drive(steps, { calls: false, inviteOnly: true });
    expect(all.txs.map((t) => t.method)).toEqual(['INVITE', 'ACK', 'OPTIONS', 'BYE']);
    expect(only.txs).toEqual(all.txs.filter((t) => t.method === 'INVITE').map((t) => ({ ...t, id: 1 })));
    expect(only.seen.map((s) => s.txId)).toEqual([1, 1, 1, 0, 0, 0, 0, 0]);
    expect(only.tr.stats).toMatchObject({ messages: 8, transactions: 1, orphanResponses: 0 });
    // The ACK at 1.01 s ended the INVITE's linger: emitted by 7 s, before the end of input.
    expect(only.beforeFinish.txs).toBe(1);
  });

  it('calls: false tracks the same transactions and makes no call', () => {
    const steps = [
      ...answeredInvite,
      { t: 10, src: BACKEND, dst: CLIENT, msg: request(byeFromCallee) },
      { t: 10.01, src: CLIENT, dst: BACKEND, msg: response(200, byeFromCallee) },
    ];
    const on = drive(steps);
    const off = drive(steps, { calls: false });
    expect(on.calls).toHaveLength(1);
    expect(off.calls).toHaveLength(0);
    expect(off.tr.stats.calls).toBe(0);
    expect(off.seen.map((s) => s.callRef)).toEqual([0, 0, 0, 0, 0, 0]);
    const strip = (txs: SipTransaction[]) => txs.map((t) => ({ ...t, callRef: 0 }));
    expect(strip(off.txs)).toEqual(strip(on.txs));
    expect(flags(off.seen)).toBe(flags(on.seen));
  });

  it('retransmissions collapse; timer B expiry makes the INVITE unanswered before the end', () => {
    const steps = [0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5].map((t) => ({ t, src: CLIENT, dst: BACKEND, msg: request(inv) }));
    const r = drive(steps, {}, 40);
    expect(r.beforeFinish.txs).toBe(0);
    expect(r.txs).toHaveLength(1);
    const t = r.txs[0]!;
    expect([t.state, t.requestCount, t.retransmissions, t.hops]).toEqual(['unanswered', 7, 6, [`${CLIENT}>${BACKEND}`]]);
    expect(flags(r.seen)).toBe('.RRRRRR');
    expect(r.tr.stats.unansweredInvites).toBe(1);
    expect([r.calls[0]!.state, r.calls[0]!.endReason, r.calls[0]!.unansweredInvites, r.calls[0]!.endSec - 1_700_000_000]).toEqual(['unanswered', 'timeout', 1, 32]);
  });

  it('expiry is driven by capture time: emitted when a later message passes timer B', () => {
    const r = drive([
      { t: 0, src: CLIENT, dst: BACKEND, msg: request(inv) },
      { t: 33, src: CLIENT, dst: BACKEND, msg: request({ callId: 'other', branch: 'z9hG4bKo' }) },
    ]);
    expect(r.beforeFinish.txs).toBe(1);
    expect(r.txs[0]!.state).toBe('unanswered');
    expect(r.txs[1]!.state).toBe('incomplete');
  });

  it('timer B is configurable', () => {
    const r = drive([{ t: 0, src: CLIENT, dst: BACKEND, msg: request(inv) }], { timerBNs: 5e9 }, 6);
    expect(r.txs[0]!.state).toBe('unanswered');
    const r2 = drive([{ t: 0, src: CLIENT, dst: BACKEND, msg: request(inv) }], { timerBNs: 5e9 }, 4);
    expect(r2.txs[0]!.state).toBe('incomplete');
  });

  it('L4 balancer: the client copy and the forwarded copy are one transaction at two hops', () => {
    const r = drive([
      { t: 0, src: CLIENT, dst: VIP, msg: request(inv) },
      { t: 0.0001, src: CLIENT, dst: BACKEND, msg: request(inv) },
      { t: 0.5, src: CLIENT, dst: VIP, msg: request(inv) },
      { t: 0.5001, src: CLIENT, dst: BACKEND, msg: request(inv) },
      { t: 0.6, src: BACKEND, dst: CLIENT, msg: response(180, inv) },
      { t: 0.6001, src: VIP, dst: CLIENT, msg: response(180, inv) },
      { t: 0.7, src: BACKEND, dst: CLIENT, msg: response(200, inv) },
      { t: 0.7001, src: VIP, dst: CLIENT, msg: response(200, inv) },
      { t: 0.8, src: BACKEND, dst: CLIENT, msg: response(200, inv) },
    ]);
    expect(r.txs).toHaveLength(1);
    const t = r.txs[0]!;
    expect(t.hops).toEqual([`${CLIENT}>${VIP}`, `${CLIENT}>${BACKEND}`]);
    expect([t.requestCount, t.retransmissions, t.final?.src, t.final?.code]).toEqual([4, 2, BACKEND, 200]);
    expect(flags(r.seen)).toBe('.FRR.F.FR');
    expect(r.calls[0]!.backends).toEqual([BACKEND]);
    expect(r.tr.stats.inviteTransactions).toBe(1);
  });

  it('L4 balancer with SNAT: the forwarded copy has another source, still one transaction', () => {
    const r = drive([
      { t: 0, src: CLIENT, dst: VIP, msg: request(inv) },
      { t: 0.0001, src: LB_SNAT, dst: BACKEND, msg: request(inv) },
      { t: 0.2, src: BACKEND, dst: LB_SNAT, msg: response(200, inv) },
      { t: 0.2001, src: VIP, dst: CLIENT, msg: response(200, inv) },
    ]);
    expect(r.txs).toHaveLength(1);
    expect(r.txs[0]!.hops).toEqual([`${CLIENT}>${VIP}`, `${LB_SNAT}>${BACKEND}`]);
    expect(flags(r.seen)).toBe('.F.F');
    expect(r.calls[0]!.addresses).toEqual([CLIENT, VIP, LB_SNAT, BACKEND]);
    expect(r.calls[0]!.backends).toEqual([BACKEND]);
  });

  it('SIP-aware balancer adds its own top Via: still one transaction; the client-facing final wins', () => {
    const proxied: MsgOpts = { ...inv, extraVia: ['SIP/2.0/UDP 203.0.113.30:5060;branch=z9hG4bKproxy1'] };
    const r = drive([
      { t: 0, src: CLIENT, dst: PROXY, msg: request(inv) },
      { t: 0.001, src: PROXY, dst: BACKEND, msg: request(proxied) },
      { t: 0.002, src: PROXY, dst: CLIENT, msg: response(100, inv) },
      { t: 0.5, src: PROXY, dst: BACKEND, msg: request(proxied) },
      { t: 1, src: BACKEND, dst: PROXY, msg: response(200, proxied) },
      { t: 1.001, src: PROXY, dst: CLIENT, msg: response(200, inv) },
      { t: 1.1, src: CLIENT, dst: PROXY, msg: request({ ...inv, method: 'CANCEL', cseqMethod: 'CANCEL' }) },
    ]);
    const invites = r.txs.filter((t) => t.method === 'INVITE');
    expect(invites).toHaveLength(1);
    const t = invites[0]!;
    expect(t.hops).toEqual([`${CLIENT}>${PROXY}`, `${PROXY}>${BACKEND}`]);
    expect([t.final?.code, t.final?.src, t.final?.inner]).toEqual([200, PROXY, false]);
    expect(flags(r.seen)).toBe('.F.R.F.');
    expect(r.tr.stats.orphanResponses).toBe(0);
  });

  it('a response arriving below the proxy before any request copy there is matched by its lower Via', () => {
    const proxied: MsgOpts = { ...inv, extraVia: ['SIP/2.0/UDP 203.0.113.30:5060;branch=z9hG4bKproxy9'] };
    const r = drive([
      { t: 0, src: CLIENT, dst: PROXY, msg: request(inv) },
      { t: 1, src: BACKEND, dst: PROXY, msg: response(486, proxied) },
    ]);
    expect(r.txs).toHaveLength(1);
    expect([r.txs[0]!.final?.code, r.txs[0]!.final?.inner]).toEqual([486, true]);
  });

  it('CANCEL: a transaction of its own, tied to the INVITE; 487 and the ACK of it', () => {
    const cancel: MsgOpts = { ...inv, method: 'CANCEL', cseqMethod: 'CANCEL' };
    const r = drive([
      { t: 0, src: CLIENT, dst: BACKEND, msg: request(inv) },
      { t: 0.1, src: BACKEND, dst: CLIENT, msg: response(180, inv) },
      { t: 2, src: CLIENT, dst: BACKEND, msg: request(cancel) },
      { t: 2.01, src: BACKEND, dst: CLIENT, msg: response(200, cancel) },
      { t: 2.02, src: BACKEND, dst: CLIENT, msg: response(487, inv) },
      { t: 2.03, src: CLIENT, dst: BACKEND, msg: request({ ...inv, method: 'ACK', toTag: 'tt1' }) },
    ]);
    expect(r.txs.map((t) => [t.method, t.final?.code])).toEqual([
      ['INVITE', 487],
      ['CANCEL', 200],
    ]);
    expect(r.txs[0]!.cancel?.sec).toBe(1_700_000_002);
    expect(r.txs[0]!.ack?.src).toBe(CLIENT);
    expect(r.seen[5]!.txId).toBe(r.txs[0]!.id);
    expect(r.seen[2]!.txId).toBe(r.txs[1]!.id);
    const c = r.calls[0]!;
    expect([c.state, c.finalCode, c.endReason]).toEqual(['cancelled', 487, 'cancel']);
  });

  it('ACK of a non-2xx final response belongs to the INVITE transaction; its retransmission is flagged', () => {
    const ack: MsgOpts = { ...inv, method: 'ACK', toTag: 'tt1' };
    const r = drive([
      { t: 0, src: CLIENT, dst: BACKEND, msg: request(inv) },
      { t: 0.2, src: BACKEND, dst: CLIENT, msg: response(486, inv) },
      { t: 0.21, src: CLIENT, dst: BACKEND, msg: request(ack) },
      { t: 0.7, src: BACKEND, dst: CLIENT, msg: response(486, inv) },
      { t: 0.71, src: CLIENT, dst: BACKEND, msg: request(ack) },
    ]);
    expect(r.txs).toHaveLength(1);
    expect(r.seen.map((s) => s.txId)).toEqual([1, 1, 1, 1, 1]);
    expect(flags(r.seen)).toBe('...RR');
    expect([r.calls[0]!.state, r.calls[0]!.finalCode, r.calls[0]!.endReason]).toEqual(['failed', 486, 'failure']);
  });

  it('RFC 2543 (no magic cookie): keyed by Call-ID, CSeq, From tag and Via; new CSeq is a new transaction', () => {
    const old: MsgOpts = { callId: 'old1', branch: '' };
    const noBranch = (o: MsgOpts, cseq = 1) =>
      sipText([
        `${o.method ?? 'INVITE'} sip:bob@example.com SIP/2.0`,
        'Via: SIP/2.0/UDP 192.0.2.1:5060',
        'From: <sip:alice@example.com>;tag=ft1',
        'To: <sip:bob@example.com>',
        'Call-ID: old1',
        `CSeq: ${cseq} INVITE`,
        'Content-Length: 0',
      ]);
    const resp = sipText(['SIP/2.0 180 Ringing', 'Via: SIP/2.0/UDP 192.0.2.1:5060', 'From: <sip:alice@example.com>;tag=ft1', 'To: <sip:bob@example.com>;tag=x', 'Call-ID: old1', 'CSeq: 1 INVITE', 'Content-Length: 0']);
    const r = drive([
      { t: 0, src: CLIENT, dst: BACKEND, msg: noBranch(old) },
      { t: 0.5, src: CLIENT, dst: BACKEND, msg: noBranch(old) },
      { t: 0.6, src: BACKEND, dst: CLIENT, msg: resp },
      { t: 5, src: CLIENT, dst: BACKEND, msg: noBranch(old, 2) },
    ]);
    expect(r.txs.map((t) => [t.cseq, t.rfc2543, t.requestCount, t.firstProvisional?.code ?? 0])).toEqual([
      [1, true, 2, 180],
      [2, true, 1, 0],
    ]);
    expect(flags(r.seen)).toBe('.R..');
  });

  it('a branch that is only the magic cookie is counted and keyed the RFC 2543 way', () => {
    const r = drive([{ t: 0, src: CLIENT, dst: BACKEND, msg: request({ ...inv, branch: 'z9hG4bK' }) }]);
    expect(r.an.count('sip_bad_branch')).toBe(1);
    expect(r.txs[0]!.rfc2543).toBe(true);
  });

  it('a response without its request is an orphan transaction', () => {
    const r = drive([{ t: 0, src: BACKEND, dst: CLIENT, msg: response(200, inv) }]);
    expect([r.txs[0]!.orphan, r.txs[0]!.final?.code, r.tr.stats.orphanResponses, r.txs[0]!.firstResponseNs]).toEqual([true, 200, 1, -1]);
  });

  it('a message without Call-ID cannot be keyed: counted, no transaction', () => {
    const m = sipText(['OPTIONS sip:a@example.com SIP/2.0', 'Via: SIP/2.0/UDP h;branch=z9hG4bK1', 'CSeq: 1 OPTIONS', 'From: <sip:a@b>;tag=1', 'To: <sip:a@b>', 'l: 0']);
    const an = new Anomalies();
    const tr = new SipTracker({ anomalies: an });
    const msg = new SipMessage();
    parseSipMessage(m, 0, m.length, msg, an);
    const ctx = newSipContext();
    expect(tr.track(msg, ctx).txId).toBe(0);
    expect(an.count('sip_unkeyed_message')).toBe(1);
  });
});

describe('SipTracker: calls', () => {
  it('authentication challenge: 407, ACK, a second INVITE, 200: one call, in call', () => {
    const inv2: MsgOpts = { ...inv, branch: 'z9hG4bKinv2', cseq: 2 };
    const r = drive([
      { t: 0, src: CLIENT, dst: BACKEND, msg: request(inv) },
      { t: 0.1, src: BACKEND, dst: CLIENT, msg: response(407, inv) },
      { t: 0.11, src: CLIENT, dst: BACKEND, msg: request({ ...inv, method: 'ACK', toTag: 'tt1' }) },
      { t: 0.2, src: CLIENT, dst: BACKEND, msg: request(inv2) },
      { t: 0.3, src: BACKEND, dst: CLIENT, msg: response(180, inv2) },
      { t: 1.2, src: BACKEND, dst: CLIENT, msg: response(200, inv2) },
    ]);
    expect(r.calls).toHaveLength(1);
    const c = r.calls[0]!;
    expect([c.state, c.finalCode, c.setupNs, c.endReason, c.messages]).toEqual(['in-call', 200, 1.2e9, undefined, 6]);
  });

  it('a finished call is emitted after the linger period, before the end of input', () => {
    const r = drive(
      [
        { t: 0, src: CLIENT, dst: BACKEND, msg: request(inv) },
        { t: 0.5, src: BACKEND, dst: CLIENT, msg: response(603, inv) },
      ],
      { lingerNs: 10e9 },
      11,
    );
    expect(r.beforeFinish.calls).toBe(0);
    expect(r.calls[0]!.state).toBe('failed');
  });

  it('established calls with no traffic time out', () => {
    const r = drive(
      [
        { t: 0, src: CLIENT, dst: BACKEND, msg: request(inv) },
        { t: 0.5, src: BACKEND, dst: CLIENT, msg: response(200, inv) },
        { t: 200, src: CLIENT, dst: BACKEND, msg: request({ callId: 'later', branch: 'z9hG4bKl' }) },
      ],
      { callIdleNs: 100e9 },
    );
    const c = r.calls.find((x) => x.callId === 'c1')!;
    expect([c.state, c.endReason, c.endSec - 1_700_000_000]).toEqual(['in-call', 'timeout', 100]);
  });

  it('bounded under many Call-IDs: oldest evicted, counted, every one still emitted', () => {
    const steps: Step[] = [];
    for (let i = 0; i < 50; i++) steps.push({ t: i * 0.01, src: CLIENT, dst: BACKEND, msg: request({ callId: `flood-${i}`, branch: `z9hG4bKf${i}` }) });
    const r = drive(steps, { maxTransactions: 10, maxCalls: 5 });
    expect(r.beforeFinish.live).toBeLessThanOrEqual(10);
    expect(r.txs).toHaveLength(50);
    expect(r.calls).toHaveLength(50);
    expect(r.an.count('sip_transaction_evicted')).toBe(40);
    expect(r.an.count('sip_call_evicted')).toBe(45);
    expect(r.txs.filter((t) => t.evicted)).toHaveLength(40);
  });

  it('a call evicted from its row leaves the next call in that row alone when its INVITE times out', () => {
    // maxCalls 1: B takes the row A was evicted from. A's INVITE, never answered, ends by timer
    // B at 32 s; its call is gone by then, and B (answered) must not count it or change state.
    const a: MsgOpts = { callId: 'a', branch: 'z9hG4bKa', fromTag: 'fa' };
    const b: MsgOpts = { callId: 'b', branch: 'z9hG4bKb', fromTag: 'fb' };
    const r = drive(
      [
        { t: 0, src: CLIENT, dst: BACKEND, msg: request(a) },
        { t: 1, src: CLIENT, dst: BACKEND, msg: request(b) },
        { t: 2, src: BACKEND, dst: CLIENT, msg: response(200, b) },
        { t: 40, src: CLIENT, dst: BACKEND, msg: request({ callId: 'later', branch: 'z9hG4bKl' }) },
      ],
      { maxCalls: 1 },
    );
    const ca = r.calls.find((c) => c.callId === 'a')!;
    const cb = r.calls.find((c) => c.callId === 'b')!;
    expect([ca.evicted, ca.state, ca.unansweredInvites]).toEqual([true, 'setup', 0]);
    expect([cb.evicted, cb.state, cb.finalCode, cb.unansweredInvites, cb.endReason]).toEqual([true, 'in-call', 200, 0, undefined]);
    expect(r.txs.find((t) => t.callId === 'a')!.state).toBe('unanswered');
  });

  it("a call's addresses: in order of first sight, past the ones kept in its row, up to maxAddresses", () => {
    const hops = [
      { src: CLIENT, dst: VIP },
      { src: LB_SNAT, dst: BACKEND },
      { src: PROXY, dst: '198.51.100.12:5060' },
      { src: CLIENT, dst: VIP },
    ];
    const steps = hops.map((h, i) => ({ t: i * 0.001, ...h, msg: request(inv) }));
    const all = [CLIENT, VIP, LB_SNAT, BACKEND, PROXY, '198.51.100.12:5060'];
    expect(drive(steps).calls[0]!.addresses).toEqual(all);
    expect(drive(steps, { maxAddresses: 5 }).calls[0]!.addresses).toEqual(all.slice(0, 5));
    expect(drive(steps, { maxAddresses: 3 }).calls[0]!.addresses).toEqual(all.slice(0, 3));
  });

  it('thousands of live calls at once keep their own fields as their table grows and rows are reused', () => {
    const steps: Step[] = [];
    const n = 2500;
    for (let i = 0; i < n; i++) {
      const o: MsgOpts = { callId: `many-${i}`, branch: `z9hG4bKm${i}`, fromTag: `f${i}`, from: `caller${i}@example.com` };
      steps.push({ t: i * 0.001, src: CLIENT, dst: VIP, msg: request(o) });
      // Every third call ends at once and frees its row for the calls after it.
      if (i % 3 === 0) steps.push({ t: i * 0.001, src: VIP, dst: CLIENT, msg: response(486, o) });
    }
    const r = drive(steps, { callLingerNs: 0 });
    expect(r.calls).toHaveLength(n);
    const byId = [...r.calls].sort((x, y) => x.id - y.id);
    byId.forEach((c, i) => {
      expect([c.callId, c.fromTag, c.from, c.state, c.finalCode, c.messages]).toEqual([
        `many-${i}`,
        `f${i}`,
        `sip:caller${i}@example.com`,
        i % 3 === 0 ? 'failed' : 'setup',
        i % 3 === 0 ? 486 : 0,
        i % 3 === 0 ? 2 : 1,
      ]);
      expect(c.addresses).toEqual([CLIENT, VIP]);
    });
  });

  it('a BYE from the caller (From tag of the call) ends it too', () => {
    const r = drive([
      { t: 0, src: CLIENT, dst: BACKEND, msg: request(inv) },
      { t: 0.5, src: BACKEND, dst: CLIENT, msg: response(200, inv) },
      { t: 3, src: CLIENT, dst: BACKEND, msg: request({ ...inv, method: 'BYE', cseq: 2, branch: 'z9hG4bKb', toTag: 'tt1' }) },
    ]);
    expect([r.calls[0]!.state, r.calls[0]!.endReason]).toEqual(['completed', 'bye']);
  });
});

describe('SipTracker: copies beyond maxCopies', () => {
  // Hops are listed from the kept copies until they overflow; from then on as they come. The
  // flags and the hop list must be those of a list kept from the start.
  const A = { src: CLIENT, dst: VIP };
  const B = { src: CLIENT, dst: BACKEND };
  const C = { src: LB_SNAT, dst: BACKEND };
  const cases: { name: string; hopsSeq: { src: string; dst: string }[]; maxCopies: number; flags: string; hops: string[]; kept: number; retrans: number }[] = [
    { name: 'all copies kept', hopsSeq: [A, B, A, B], maxCopies: 64, flags: '.FRR', hops: [`${CLIENT}>${VIP}`, `${CLIENT}>${BACKEND}`], kept: 4, retrans: 2 },
    { name: 'a retransmission after the copies overflow', hopsSeq: [A, B, A], maxCopies: 2, flags: '.FR', hops: [`${CLIENT}>${VIP}`, `${CLIENT}>${BACKEND}`], kept: 2, retrans: 1 },
    { name: 'a third hop after the hop list is full is never a retransmission', hopsSeq: [A, B, A, C, C], maxCopies: 2, flags: '.FRFF', hops: [`${CLIENT}>${VIP}`, `${CLIENT}>${BACKEND}`], kept: 2, retrans: 1 },
    { name: 'retransmissions fill the copies, then a new hop is listed', hopsSeq: [A, A, A, B, B], maxCopies: 3, flags: '.RRFR', hops: [`${CLIENT}>${VIP}`, `${CLIENT}>${BACKEND}`], kept: 3, retrans: 3 },
    { name: 'no copies kept at all', hopsSeq: [A, A, B], maxCopies: 0, flags: '.FF', hops: [], kept: 0, retrans: 0 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = drive(
        c.hopsSeq.map((h, i) => ({ t: i * 0.5, ...h, msg: request(inv) })),
        { maxCopies: c.maxCopies },
      );
      expect(r.txs).toHaveLength(1);
      const t = r.txs[0]!;
      expect(flags(r.seen)).toBe(c.flags);
      expect(t.hops).toEqual(c.hops);
      expect([t.requests.length, t.requestCount, t.retransmissions]).toEqual([c.kept, c.hopsSeq.length, c.retrans]);
    });
  }
});

describe('SipTracker: responses beyond maxCopies', () => {
  // Responses are remembered per (code, hop), up to maxCopies of them; one not remembered is
  // neither a retransmission nor a forwarded copy when it comes again.
  const cases: { name: string; maxCopies: number; flags: string }[] = [
    { name: 'remembered: retransmission and forwarded copy', maxCopies: 64, flags: '.RF' },
    { name: 'one remembered: the copy at the second hop is forwarded, its repeat is not known', maxCopies: 1, flags: '.RFF' },
    { name: 'none remembered', maxCopies: 0, flags: '...' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const steps: Step[] = [
        { t: 0, src: BACKEND, dst: CLIENT, msg: response(200, inv) },
        { t: 0.5, src: BACKEND, dst: CLIENT, msg: response(200, inv) },
        { t: 0.6, src: VIP, dst: CLIENT, msg: response(200, inv) },
      ];
      if (c.maxCopies === 1) steps.push({ t: 0.7, src: VIP, dst: CLIENT, msg: response(200, inv) });
      const r = drive(steps, { maxCopies: c.maxCopies });
      expect(flags(r.seen)).toBe(c.flags);
    });
  }
});

describe('SipTracker: calls only (no transaction or per-message reader)', () => {
  /** The calls a tracker emits for the steps, with or without anyone reading transactions. */
  function callsOf(steps: Step[], callsOnly: boolean) {
    const an = new Anomalies();
    const calls: SipCall[] = [];
    const tr = new SipTracker(callsOnly ? { anomalies: an, onCall: (c) => calls.push(c), messageInfo: false } : { anomalies: an, onCall: (c) => calls.push(c), onTransaction: () => undefined });
    const msg = new SipMessage();
    const ctx = newSipContext();
    for (const s of steps) {
      parseSipMessage(s.msg, 0, s.msg.length, msg, an);
      ctx.sec = 1_700_000_000 + Math.floor(s.t);
      ctx.nsec = Math.round((s.t - Math.floor(s.t)) * 1e9);
      ctx.src = s.src;
      ctx.dst = s.dst;
      tr.track(msg, ctx);
    }
    tr.finish();
    return { calls, stats: tr.stats, anomalies: an.list() };
  }

  const ack = (o: MsgOpts, branch: string): Uint8Array => request({ ...o, method: 'ACK', branch, toTag: 'tt1' });
  const inv2: MsgOpts = { callId: 'c2', branch: 'z9hG4bKinv2' };
  const scenarios: [string, Step[]][] = [
    [
      'an LB call with every message seen arriving and forwarded, ACK copies and an ACK retransmission',
      [
        { t: 0, src: CLIENT, dst: VIP, msg: request(inv) },
        { t: 0.0001, src: CLIENT, dst: BACKEND, msg: request(inv) },
        { t: 0.1, src: BACKEND, dst: CLIENT, msg: response(200, inv) },
        { t: 0.1001, src: VIP, dst: CLIENT, msg: response(200, inv) },
        { t: 0.2, src: CLIENT, dst: VIP, msg: ack(inv, 'z9hG4bKack1') },
        { t: 0.2001, src: CLIENT, dst: BACKEND, msg: ack(inv, 'z9hG4bKack1') },
        { t: 0.7, src: CLIENT, dst: VIP, msg: ack(inv, 'z9hG4bKack1') },
        { t: 9, src: BACKEND, dst: CLIENT, msg: request(byeFromCallee) },
        { t: 9.01, src: CLIENT, dst: BACKEND, msg: response(200, byeFromCallee) },
      ],
    ],
    [
      'an ACK for a call that already ended, an ACK for no call, a non-2xx ACK on the INVITE branch',
      [
        { t: 0, src: CLIENT, dst: BACKEND, msg: request(inv2) },
        { t: 0.1, src: BACKEND, dst: CLIENT, msg: response(486, inv2) },
        { t: 0.11, src: CLIENT, dst: BACKEND, msg: ack(inv2, 'z9hG4bKinv2') },
        { t: 30, src: CLIENT, dst: BACKEND, msg: ack(inv2, 'z9hG4bKlate') },
        { t: 31, src: CLIENT, dst: BACKEND, msg: ack({ callId: 'nobody' }, 'z9hG4bKnobody') },
      ],
    ],
    [
      'a challenge (407, ACK), then the INVITE again, answered, and its ACK',
      [
        { t: 0, src: CLIENT, dst: BACKEND, msg: request(inv) },
        { t: 0.1, src: BACKEND, dst: CLIENT, msg: response(407, inv) },
        { t: 0.11, src: CLIENT, dst: BACKEND, msg: ack(inv, 'z9hG4bKinv1') },
        { t: 0.2, src: CLIENT, dst: BACKEND, msg: request({ ...inv, cseq: 2, branch: 'z9hG4bKinv1b' }) },
        { t: 0.5, src: BACKEND, dst: CLIENT, msg: response(200, { ...inv, cseq: 2, branch: 'z9hG4bKinv1b' }) },
        { t: 0.6, src: CLIENT, dst: BACKEND, msg: request({ ...inv, cseq: 2, method: 'ACK', branch: 'z9hG4bKack2', toTag: 'tt1' }) },
      ],
    ],
    [
      'a CANCEL crossing a 486 (cancelled because the CANCEL was seen), the CANCEL and its 200 at two hops',
      [
        { t: 0, src: CLIENT, dst: VIP, msg: request(inv) },
        { t: 0.0001, src: CLIENT, dst: BACKEND, msg: request(inv) },
        { t: 0.1, src: BACKEND, dst: CLIENT, msg: response(180, inv) },
        { t: 2, src: CLIENT, dst: VIP, msg: request({ ...inv, method: 'CANCEL', cseqMethod: 'CANCEL' }) },
        { t: 2.0001, src: CLIENT, dst: BACKEND, msg: request({ ...inv, method: 'CANCEL', cseqMethod: 'CANCEL' }) },
        { t: 2.01, src: BACKEND, dst: CLIENT, msg: response(200, { ...inv, method: 'CANCEL', cseqMethod: 'CANCEL' }) },
        { t: 2.0101, src: VIP, dst: CLIENT, msg: response(200, { ...inv, method: 'CANCEL', cseqMethod: 'CANCEL' }) },
        { t: 2.02, src: BACKEND, dst: CLIENT, msg: response(486, inv) },
        { t: 2.03, src: CLIENT, dst: BACKEND, msg: ack(inv, 'z9hG4bKinv1') },
      ],
    ],
    [
      'a BYE from the caller retransmitted and answered, an OPTIONS inside the dialog, a BYE answer with no BYE seen',
      [
        { t: 0, src: CLIENT, dst: BACKEND, msg: request(inv) },
        { t: 0.1, src: BACKEND, dst: CLIENT, msg: response(200, inv) },
        { t: 0.2, src: CLIENT, dst: BACKEND, msg: ack(inv, 'z9hG4bKack1') },
        { t: 3, src: CLIENT, dst: BACKEND, msg: request({ ...inv, method: 'OPTIONS', cseq: 2, branch: 'z9hG4bKopt1', toTag: 'tt1' }) },
        { t: 3.1, src: BACKEND, dst: CLIENT, msg: response(200, { ...inv, method: 'OPTIONS', cseq: 2, branch: 'z9hG4bKopt1', toTag: 'tt1' }) },
        { t: 5, src: CLIENT, dst: BACKEND, msg: request({ ...inv, method: 'BYE', cseq: 3, branch: 'z9hG4bKbye2', toTag: 'tt1' }) },
        { t: 5.5, src: CLIENT, dst: BACKEND, msg: request({ ...inv, method: 'BYE', cseq: 3, branch: 'z9hG4bKbye2', toTag: 'tt1' }) },
        { t: 5.6, src: BACKEND, dst: CLIENT, msg: response(200, { ...inv, method: 'BYE', cseq: 3, branch: 'z9hG4bKbye2', toTag: 'tt1' }) },
        { t: 6, src: BACKEND, dst: CLIENT, msg: response(200, { ...inv2, method: 'BYE', cseq: 9, branch: 'z9hG4bKbye3', toTag: 'tt2' }) },
      ],
    ],
  ];
  for (const [name, steps] of scenarios) {
    it(`${name}: the same calls as with a transaction reader`, () => {
      const lean = callsOf(steps, true);
      const full = callsOf(steps, false);
      expect(lean.calls.length).toBeGreaterThan(0);
      expect(lean.calls).toEqual(full.calls);
      expect(lean.anomalies).toEqual(full.anomalies);
      expect(lean.stats.messages).toBe(full.stats.messages);
      expect(lean.stats.inviteTransactions).toBe(full.stats.inviteTransactions);
    });
  }

  it('the ACK of a 2xx and the BYE make no transaction, but count in their call', () => {
    const steps = scenarios[0]![1];
    const lean = callsOf(steps, true);
    const full = callsOf(steps, false);
    // Full: the INVITE, the ACK of its 200 and the BYE; lean: the INVITE alone.
    expect([full.stats.transactions, lean.stats.transactions]).toEqual([3, 1]);
    expect(lean.calls[0]!.messages).toBe(steps.length);
    expect(lean.calls[0]!.addresses).toEqual([CLIENT, VIP, BACKEND]);
  });
});

describe('SipTracker: finished transactions used again', () => {
  // Many overlapping calls of every ending: answered (ACK or none: timer D), rejected, never
  // answered (timer B), provisional only (timer C), cancelled, plus BYEs and OPTIONS whose final
  // response is retransmitted (a second linger entry in the queue) and a transaction bound
  // that evicts. Without hooks the tracker reuses finished transactions' objects; a no-op
  // onFirstResponse turns that off. What is emitted must not differ.
  function traffic(seed: number): Step[] {
    let s = seed;
    const rnd = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
    const steps: Step[] = [];
    for (let i = 0; i < 1500; i++) {
      const t = i * 0.05;
      const o: MsgOpts = { callId: `reuse-${i}`, branch: `z9hG4bKr${i}` };
      const kind = Math.floor(rnd() * 7);
      steps.push({ t, src: CLIENT, dst: BACKEND, msg: request(o) });
      // Every third INVITE also seen leaving a proxy that added its own Via (an alias key), and
      // again at a third hop (past maxCopies 2: the hops are then listed as they come).
      if (i % 3 === 0) {
        const proxied: MsgOpts = { ...o, extraVia: [`SIP/2.0/UDP 203.0.113.30:5060;branch=z9hG4bKp${i}`] };
        steps.push({ t: t + 0.001, src: PROXY, dst: BACKEND, msg: request(proxied) });
        steps.push({ t: t + 0.002, src: PROXY, dst: LB_SNAT, msg: request(proxied) });
      }
      if (kind === 0) continue; // never answered: timer B
      steps.push({ t: t + 0.01, src: BACKEND, dst: CLIENT, msg: response(100, o) });
      if (kind === 1) {
        steps.push({ t: t + 0.02, src: BACKEND, dst: CLIENT, msg: response(180, { ...o, toTag: `tt${i}` }) });
        continue; // provisional only: timer C
      }
      if (kind === 2) {
        const c: MsgOpts = { ...o, method: 'CANCEL' };
        steps.push({ t: t + 0.5, src: CLIENT, dst: BACKEND, msg: request(c) });
        steps.push({ t: t + 0.51, src: BACKEND, dst: CLIENT, msg: response(200, c) });
        steps.push({ t: t + 0.52, src: BACKEND, dst: CLIENT, msg: response(487, { ...o, toTag: `tt${i}` }) });
        steps.push({ t: t + 0.53, src: CLIENT, dst: BACKEND, msg: request({ ...o, method: 'ACK', toTag: `tt${i}` }) });
        continue;
      }
      if (kind === 3) {
        steps.push({ t: t + 0.2, src: BACKEND, dst: CLIENT, msg: response(486, { ...o, toTag: `tt${i}` }) });
        steps.push({ t: t + 0.21, src: CLIENT, dst: BACKEND, msg: request({ ...o, method: 'ACK', toTag: `tt${i}` }) });
        continue;
      }
      steps.push({ t: t + 0.3, src: BACKEND, dst: CLIENT, msg: response(200, { ...o, toTag: `tt${i}` }) });
      if (kind === 4) continue; // no ACK: timer D
      steps.push({ t: t + 0.31, src: CLIENT, dst: BACKEND, msg: request({ ...o, method: 'ACK', branch: `z9hG4bKa${i}`, toTag: `tt${i}` }) });
      const bye: MsgOpts = { ...o, method: 'BYE', cseq: 2, branch: `z9hG4bKb${i}`, toTag: `tt${i}` };
      steps.push({ t: t + 3, src: CLIENT, dst: BACKEND, msg: request(bye) });
      steps.push({ t: t + 3.01, src: BACKEND, dst: CLIENT, msg: response(200, bye) });
      // The final response again, later: its transaction is queued to linger a second time.
      if (kind === 5) steps.push({ t: t + 3.5, src: BACKEND, dst: CLIENT, msg: response(200, bye) });
      if (kind === 6) {
        const opt: MsgOpts = { method: 'OPTIONS', callId: `opt-${i}`, branch: `z9hG4bKo${i}` };
        steps.push({ t: t + 0.4, src: CLIENT, dst: BACKEND, msg: request(opt) });
        steps.push({ t: t + 0.41, src: BACKEND, dst: CLIENT, msg: response(200, opt) });
        steps.push({ t: t + 1.2, src: BACKEND, dst: CLIENT, msg: response(200, opt) });
      }
    }
    return steps.sort((a, b) => a.t - b.t);
  }

  const view = (r: ReturnType<typeof drive>) => ({
    txs: r.txs.map((t) => ({ ...t, hops: t.hops })),
    calls: r.calls,
    seen: r.seen,
    anomalies: r.an.list(),
    before: r.beforeFinish,
  });

  // The last: INVITEs end fast and other requests linger long, so the oldest live transaction,
  // which the bound evicts, is often one still queued to linger (a queue entry left behind).
  const quick = { timerBNs: 2e9, timerCNs: 3e9, lingerNs: 2e9, ackedLingerNs: 0.5e9, nonInviteLingerNs: 30e9 };
  for (const opts of [{}, { inviteOnly: true, calls: false }, { maxTransactions: 300 }, { ...quick, maxTransactions: 40 }, quick, { maxCopies: 2 }] as Partial<TrackerOptions>[]) {
    it(`emits the same as a tracker that makes a new one each time (${JSON.stringify(opts)})`, () => {
      const steps = traffic(7);
      const reused = drive(steps, opts, 400);
      const fresh = drive(steps, { ...opts, onFirstResponse: () => undefined }, 400);
      expect(reused.txs.length).toBeGreaterThanOrEqual(1500);
      expect(view(reused)).toEqual(view(fresh));
    });
  }

  it('borrowTransactions: the hook reads the tracker\'s own objects, used again later, with what a summary says', () => {
    const steps = traffic(11);
    const fresh = drive(steps, { inviteOnly: true, calls: false }, 400);
    // Read during the call, as the load-balancer analysis reads them.
    const during: SipTransaction[] = [];
    const objects = new Set<SipTransaction>();
    const borrowed = drive(steps, {
      inviteOnly: true,
      calls: false,
      borrowTransactions: true,
      onTransaction: (t) => {
        objects.add(t);
        during.push({ ...t, requests: [...t.requests], hops: t.hops } as SipTransaction);
      },
    }, 400);
    expect(borrowed.txs).toEqual([]);
    expect(during.length).toBeGreaterThanOrEqual(1500);
    expect(objects.size).toBeLessThan(during.length / 2);
    const plain = (t: SipTransaction) => {
      const { id, method, callId, cseq, branch, fromTag, rfc2543, orphan, requests, requestCount, retransmissions, firstProvisional, final, responseCount, ack, cancel, firstResponseNs, finalResponseNs, state, evicted, callRef, hops } = t;
      return { id, method, callId, cseq, branch, fromTag, rfc2543, orphan, requests, requestCount, retransmissions, firstProvisional, final, responseCount, ack, cancel, firstResponseNs, finalResponseNs, state, evicted, callRef, hops };
    };
    expect(during.sort((a, b) => a.id - b.id).map(plain)).toEqual(fresh.txs.map(plain));
  });
});
