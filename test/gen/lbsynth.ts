/**
 * Deterministic synthetic captures taken at a SIP load balancer's host, with a failover.
 *
 * Model (what `tcpdump -i any` on a Linux DNAT load balancer sees): every client datagram is
 * captured twice, arriving (client -> VIP) and forwarded after DNAT (client -> backend); every
 * backend reply twice, arriving (backend -> client) and leaving after reverse NAT
 * (VIP -> client). Calls run INVITE/100/180/200/ACK/BYE/200, with some RTP-sized UDP noise.
 *
 * At `failoverAt` backend 0 is terminated. New flows go to the remaining backends. A client
 * that keeps its source port ("fixed" clients, the carrier behaviour) keeps its tracker entry,
 * so its INVITEs are still forwarded to the dead backend and go unanswered: retransmitted per
 * RFC 3261 timer A (0.5 s doubling) until timer B (32 s). The ground truth lists those flows and
 * the Call-IDs they lost, derived from what was generated.
 */
import { writeFileSync } from 'node:fs';
import { PcapFileWriter } from '../../src/capture/writer.js';
import { ETH_IPV4, ethernet, ip4, ipv4, udp } from './packets.js';

export interface LbSynthOptions {
  /** Stop once this many bytes were written (approximately). */
  targetBytes: number;
  clients: number;
  /** Share of clients that send every call from one source port. */
  fixedShare: number;
  backends: number;
  /** Calls started per second across all clients. */
  callsPerSecond: number;
  /** Seconds after the start at which backend 0 is terminated. */
  failoverAt: number;
  /** Epoch seconds of the first packet. */
  startSec: number;
  seed: number;
  /** RTP-like non-SIP UDP packets per call (noise the readers must skip fast). */
  rtpPerCall: number;
}

export const defaultLbSynth: LbSynthOptions = {
  targetBytes: 20 * 1024 * 1024,
  clients: 200,
  fixedShare: 0.1,
  backends: 3,
  callsPerSecond: 50,
  failoverAt: 60,
  startSec: 1_700_000_000,
  seed: 42,
  rtpPerCall: 4,
};

export const VIP = '203.0.113.10';
export const SIP_PORT = 5060;
export const backendAddress = (i: number): string => `198.51.100.${11 + i}`;
export const clientAddress = (i: number): string => `192.0.2.${1 + (i % 250)}`;

export interface LbSynthTruth {
  vip: string;
  failoverAt: string;
  failoverSec: number;
  deadBackend: string;
  liveBackends: string[];
  /** Client flows pinned to the dead backend after the failover, with the Call-IDs they lost. */
  pinned: { client: string; service: string; target: string; callIds: string[] }[];
  /** Flows that must not be flagged: every other client flow seen after the failover. */
  notPinned: string[];
  packets: number;
  bytes: number;
  calls: number;
  inviteTransactions: number;
  unansweredInvites: number;
}

/** Small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Pending {
  t: number; // ns since start
  src: string;
  sport: number;
  dst: string;
  dport: number;
  payload: Uint8Array;
}

const enc = new TextEncoder();

function sipRequest(method: string, callId: string, cseq: number, branch: string, clientIp: string, clientPort: number, fromTag: string, toTag: string | undefined): string {
  return (
    `${method} sip:+15550100@${VIP}:${SIP_PORT} SIP/2.0\r\n` +
    `Via: SIP/2.0/UDP ${clientIp}:${clientPort};branch=z9hG4bK${branch};rport\r\n` +
    `Max-Forwards: 70\r\n` +
    `From: "Carrier" <sip:+15550199@${clientIp}>;tag=${fromTag}\r\n` +
    `To: <sip:+15550100@${VIP}>${toTag ? ';tag=' + toTag : ''}\r\n` +
    `Call-ID: ${callId}\r\n` +
    `CSeq: ${cseq} ${method}\r\n` +
    `Contact: <sip:+15550199@${clientIp}:${clientPort}>\r\n` +
    `User-Agent: lbsynth/1\r\n` +
    (method === 'INVITE' ? sdpBody(clientIp) : `Content-Length: 0\r\n\r\n`)
  );
}

function sdpBody(ip: string): string {
  const body = `v=0\r\no=- 1 1 IN IP4 ${ip}\r\ns=-\r\nc=IN IP4 ${ip}\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\n`;
  return `Content-Type: application/sdp\r\nContent-Length: ${enc.encode(body).length}\r\n\r\n${body}`;
}

function sipResponse(code: number, reason: string, method: string, callId: string, cseq: number, branch: string, clientIp: string, clientPort: number, fromTag: string, toTag: string): string {
  return (
    `SIP/2.0 ${code} ${reason}\r\n` +
    `Via: SIP/2.0/UDP ${clientIp}:${clientPort};branch=z9hG4bK${branch};rport=${clientPort};received=${clientIp}\r\n` +
    `From: "Carrier" <sip:+15550199@${clientIp}>;tag=${fromTag}\r\n` +
    `To: <sip:+15550100@${VIP}>${code > 100 ? ';tag=' + toTag : ''}\r\n` +
    `Call-ID: ${callId}\r\n` +
    `CSeq: ${cseq} ${method}\r\n` +
    `Server: lbsynth-backend/1\r\n` +
    `Content-Length: 0\r\n\r\n`
  );
}

/**
 * Generate the capture into `path` (classic pcap, microseconds, Ethernet) and return the truth.
 * Memory stays flat: calls are generated in time order through a small sliding queue.
 */
export function generateLbCapture(path: string, opts: Partial<LbSynthOptions> = {}): LbSynthTruth {
  const o = { ...defaultLbSynth, ...opts };
  const rand = rng(o.seed);
  const writer = new PcapFileWriter(path, { linkType: 1, resolution: 'us' });
  const failNs = o.failoverAt * 1e9;
  const dead = backendAddress(0);
  const live = Array.from({ length: o.backends - 1 }, (_, i) => backendAddress(i + 1));

  // Per client: fixed port or not, and for fixed clients the tracker's mapping (sticky).
  const fixed: boolean[] = [];
  const fixedPort: number[] = [];
  const mapping: (number | undefined)[] = [];
  for (let c = 0; c < o.clients; c++) {
    fixed.push(rand() < o.fixedShare);
    fixedPort.push(5060 + (c % 7));
    mapping.push(undefined);
  }
  let ephemeral = 20000;
  const pinned = new Map<string, { client: string; service: string; target: string; callIds: string[] }>();
  const notPinned = new Set<string>();

  // A min-ordered queue of future packets (small: only calls in progress).
  let queue: Pending[] = [];
  // Bytes queued but not yet written, so the size target counts calls still in flight.
  let pendingBytes = 0;
  let packets = 0;
  let ipId = 1;
  let calls = 0;
  let unanswered = 0;

  const emit = (p: Pending): void => {
    const s = ip4(p.src);
    const d = ip4(p.dst);
    const frame = ethernet(ipv4({ src: p.src, dst: p.dst, proto: 17, id: ipId++ & 0xffff }, udp(s, d, p.sport, p.dport, p.payload)), ETH_IPV4);
    const abs = o.startSec * 1e9 + p.t;
    const sec = Math.floor(abs / 1e9);
    writer.write(sec, Math.round((abs - sec * 1e9) / 1000) * 1000, frame);
    pendingBytes -= p.payload.length + 58;
    packets++;
  };
  const push = (p: Pending): void => {
    queue.push(p);
    pendingBytes += p.payload.length + 58; // pcap record + Ethernet + IPv4 + UDP headers
  };
  const flushUntil = (t: number): void => {
    if (queue.length === 0) return;
    queue.sort((a, b) => a.t - b.t);
    let i = 0;
    while (i < queue.length && queue[i]!.t <= t) emit(queue[i++]!);
    if (i) queue = queue.slice(i);
  };

  // One datagram from the client side through the LB (arriving copy + forwarded copy).
  const clientSends = (t: number, cip: string, cport: number, backend: string, payload: Uint8Array): void => {
    push({ t, src: cip, sport: cport, dst: VIP, dport: SIP_PORT, payload });
    push({ t: t + 40_000, src: cip, sport: cport, dst: backend, dport: SIP_PORT, payload });
  };
  const backendSends = (t: number, cip: string, cport: number, backend: string, payload: Uint8Array): void => {
    // A terminated node sends nothing, not even the rest of the calls it had in progress.
    if (backend === dead && t >= failNs) return;
    push({ t, src: backend, sport: SIP_PORT, dst: cip, dport: cport, payload });
    push({ t: t + 40_000, src: VIP, sport: SIP_PORT, dst: cip, dport: cport, payload });
  };

  const stepNs = Math.round(1e9 / o.callsPerSecond);
  let t = 0;
  while (writer.bytes + pendingBytes < o.targetBytes) {
    const c = Math.floor(rand() * o.clients);
    const cip = clientAddress(c);
    const cport = fixed[c] ? fixedPort[c]! : ephemeral++;
    if (ephemeral > 60999) ephemeral = 20000;
    let backendIdx: number;
    const afterFailover = t >= failNs;
    if (fixed[c] && mapping[c] !== undefined) backendIdx = mapping[c]!;
    else {
      backendIdx = afterFailover ? 1 + Math.floor(rand() * (o.backends - 1)) : Math.floor(rand() * o.backends);
      if (fixed[c]) mapping[c] = backendIdx;
    }
    const backend = backendAddress(backendIdx);
    const callId = `${(o.seed * 1e6 + calls).toString(36)}-${c}@${cip}`;
    const branch = `${calls.toString(36)}a`;
    const fromTag = `f${calls.toString(36)}`;
    const toTag = `t${calls.toString(36)}`;
    calls++;
    const flowKey = `${cip}:${cport}`;
    const invite = enc.encode(sipRequest('INVITE', callId, 1, branch, cip, cport, fromTag, undefined));

    if (backendIdx === 0 && afterFailover) {
      // Pinned: forwarded to the dead backend, never answered; timer A retransmissions to timer B.
      let rt = 0;
      for (let k = 0; rt < 32e9; k++) {
        clientSends(t + rt, cip, cport, backend, invite);
        rt += 500e6 * 2 ** k;
      }
      unanswered++;
      let p = pinned.get(flowKey);
      if (!p) pinned.set(flowKey, (p = { client: flowKey, service: `${VIP}:${SIP_PORT}`, target: `${backend}:${SIP_PORT}`, callIds: [] }));
      p.callIds.push(callId);
    } else {
      if (afterFailover) notPinned.add(flowKey);
      clientSends(t, cip, cport, backend, invite);
      const r = (code: number, reason: string, method: string, cseq: number, br: string, dt: number): void =>
        backendSends(t + dt, cip, cport, backend, enc.encode(sipResponse(code, reason, method, callId, cseq, br, cip, cport, fromTag, toTag)));
      r(100, 'Trying', 'INVITE', 1, branch, 2e6);
      r(180, 'Ringing', 'INVITE', 1, branch, 150e6);
      r(200, 'OK', 'INVITE', 1, branch, 2e9);
      clientSends(t + 2.05e9, cip, cport, backend, enc.encode(sipRequest('ACK', callId, 1, branch + 'k', cip, cport, fromTag, toTag)));
      for (let k = 0; k < o.rtpPerCall; k++) {
        push({ t: t + 2.1e9 + k * 20e6, src: cip, sport: 40000, dst: VIP, dport: 40000 + (c % 1000), payload: new Uint8Array(172) });
      }
      clientSends(t + 9e9, cip, cport, backend, enc.encode(sipRequest('BYE', callId, 2, branch + 'b', cip, cport, fromTag, toTag)));
      r(200, 'OK', 'BYE', 2, branch + 'b', 9.01e9);
    }
    t += stepNs;
    // Sorting is the generator's cost: do it once per simulated 10 s, keeping 40 s in flight.
    if (calls % (o.callsPerSecond * 10) === 0) flushUntil(t - 40e9);
  }
  flushUntil(Number.MAX_SAFE_INTEGER);
  writer.close();

  // A flow is "not pinned" only if it never lost a call after the failover.
  for (const k of pinned.keys()) notPinned.delete(k);
  const failAbs = o.startSec + o.failoverAt;
  return {
    vip: `${VIP}:${SIP_PORT}`,
    failoverAt: new Date(failAbs * 1000).toISOString(),
    failoverSec: failAbs,
    deadBackend: `${dead}:${SIP_PORT}`,
    liveBackends: live.map((b) => `${b}:${SIP_PORT}`),
    pinned: [...pinned.values()].sort((a, b) => (a.client < b.client ? -1 : 1)),
    notPinned: [...notPinned].sort(),
    packets,
    bytes: writer.bytes,
    calls,
    inviteTransactions: calls,
    unansweredInvites: unanswered,
  };
}

/** The backend inventory an operator would have written down: the dead node and when it went. */
export function inventoryFor(truth: LbSynthTruth): { nodes: { address: string; port: number; name: string; state: string; since?: string }[] } {
  const node = (ep: string, i: number, state: string, since?: string) => {
    const [address, port] = [ep.slice(0, ep.lastIndexOf(':')), Number(ep.slice(ep.lastIndexOf(':') + 1))];
    return { address, port, name: `backend-${i}`, state, ...(since ? { since } : {}) };
  };
  return { nodes: [node(truth.deadBackend, 0, 'terminated', truth.failoverAt), ...truth.liveBackends.map((b, i) => node(b, i + 1, 'active'))] };
}

// CLI: tsx test/gen/lbsynth.ts OUT.pcap [MB]  (writes OUT.pcap and OUT.truth.json)
if (process.argv[1] && process.argv[1].endsWith('lbsynth.ts')) {
  const out = process.argv[2];
  if (!out) {
    process.stderr.write('usage: tsx test/gen/lbsynth.ts OUT.pcap [MB]\n');
    process.exit(2);
  }
  const mb = Number(process.argv[3] ?? 20);
  const truth = generateLbCapture(out, { targetBytes: mb * 1024 * 1024 });
  writeFileSync(out.replace(/\.pcap$/, '') + '.truth.json', JSON.stringify(truth, null, 2) + '\n');
  writeFileSync(out.replace(/\.pcap$/, '') + '.inventory.json', JSON.stringify(inventoryFor(truth), null, 2) + '\n');
  process.stdout.write(`${out}: ${truth.packets} packets, ${(truth.bytes / 1048576).toFixed(1)} MB, ${truth.calls} calls, ${truth.pinned.length} pinned flows\n`);
}
