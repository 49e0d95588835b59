/**
 * A SIP responder for the probe tests, on real UDP and TCP sockets on 127.0.0.1. Its policy can
 * change while a probe runs: ignore some source ports (a pinned tuple), everything (down),
 * everything but some ports, answer late, answer twice, or send junk first. Every request it
 * receives is recorded with its arrival time, for retransmission timing checks.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { Anomalies } from '../../src/core/anomalies.js';
import { formatEndpoint } from '../../src/core/address.js';
import { SipMessage } from '../../src/sip/message.js';
import { findHeaderEnd, parseSipMessage, SipParseStatus } from '../../src/sip/parser.js';

export interface Policy {
  /** Never answer requests from these source ports. */
  ignorePorts: Set<number>;
  /** Answer only requests from these source ports (when non-empty). */
  onlyPorts: Set<number>;
  ignoreAll: boolean;
  /** Ignore the first N copies of each transaction (by branch): tests retransmission. */
  dropFirst: number;
  code: number;
  reason: string;
  delayMs: number;
  /** Answer each request twice. */
  duplicate: boolean;
  /** Before answering, send these datagrams/messages to the requester. */
  junkBefore: ((req: SipMessage) => string)[];
  /** Answer with another Call-ID (a response for someone else's transaction). */
  wrongCallId: boolean;
}

export interface Received {
  atMs: number;
  srcPort: number;
  branch: string;
  callId: string;
  text: string;
  transport: 'udp' | 'tcp';
}

export function defaultPolicy(): Policy {
  return {
    ignorePorts: new Set(),
    onlyPorts: new Set(),
    ignoreAll: false,
    dropFirst: 0,
    code: 200,
    reason: 'OK',
    delayMs: 0,
    duplicate: false,
    junkBefore: [],
    wrongCallId: false,
  };
}

/** A response to `req` per RFC 3261 8.2.6: Via (with received and rport), From, To with a tag, Call-ID, CSeq. */
export function buildResponse(req: SipMessage, code: number, reason: string, srcIp: string, srcPort: number, callId?: string): string {
  const vias = req.headerValues('via');
  // RFC 3581: the top Via gets received and the rport value.
  const top = vias[0]!.replace(/;rport(?=;|$)/, `;rport=${srcPort}`) + `;received=${srcIp}`;
  const lines = [
    `SIP/2.0 ${code} ${reason}`,
    `Via: ${top}`,
    ...vias.slice(1).map((v) => `Via: ${v}`),
    `From: ${req.header('from')}`,
    `To: ${req.header('to')};tag=resp1`,
    `Call-ID: ${callId ?? req.callId}`,
    `CSeq: ${req.header('cseq')}`,
    'Server: stalepin-test-responder',
    'Content-Length: 0',
    '',
    '',
  ];
  return lines.join('\r\n');
}

export class Responder {
  policy: Policy = defaultPolicy();
  readonly received: Received[] = [];
  udpPort = 0;
  tcpPort = 0;
  private udp?: dgram.Socket;
  private tcp?: net.Server;
  private readonly conns = new Set<net.Socket>();
  private readonly copies = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly msg = new SipMessage();
  private readonly anomalies = new Anomalies();
  private readonly t0 = Date.now();

  /** Loopback address the responder listens on. */
  host = '127.0.0.1';

  static async start(opts: { udp?: boolean; tcp?: boolean; udpPort?: number; host?: string } = {}): Promise<Responder> {
    const r = new Responder();
    if (opts.host) r.host = opts.host;
    if (opts.udp !== false) await r.startUdp(opts.udpPort ?? 0);
    if (opts.tcp) await r.startTcp();
    return r;
  }

  get udpTarget(): string {
    return formatEndpoint(this.host, this.udpPort);
  }
  get tcpTarget(): string {
    return formatEndpoint(this.host, this.tcpPort);
  }

  /** Requests received from one source port. */
  from(port: number): Received[] {
    return this.received.filter((r) => r.srcPort === port);
  }

  private async startUdp(port: number): Promise<void> {
    const s = dgram.createSocket(this.host.includes(':') ? 'udp6' : 'udp4');
    s.on('message', (buf, rinfo) => {
      this.handle(buf, rinfo.port, 'udp', rinfo.address, (text) => s.send(Buffer.from(text, 'latin1'), rinfo.port, rinfo.address));
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(port, this.host, () => resolve());
    });
    this.udp = s;
    this.udpPort = s.address().port;
  }

  private async startTcp(): Promise<void> {
    const srv = net.createServer((c) => {
      this.conns.add(c);
      this.tcpPeers.push(c.remotePort ?? 0);
      c.on('close', () => this.conns.delete(c));
      c.on('error', () => undefined);
      let buf = Buffer.alloc(0);
      c.on('data', (chunk) => {
        buf = Buffer.concat([buf, chunk]);
        for (;;) {
          const he = findHeaderEnd(buf, 0, buf.length);
          if (he < 0) break;
          const one = buf.subarray(0, he);
          buf = buf.subarray(he);
          this.handle(one, c.remotePort ?? 0, 'tcp', c.remoteAddress ?? '', (text) => {
            if (!c.destroyed) c.write(text);
          });
        }
      });
    });
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(0, this.host, () => resolve());
    });
    this.tcp = srv;
    this.tcpPort = (srv.address() as net.AddressInfo).port;
  }

  private handle(buf: Buffer, srcPort: number, transport: 'udp' | 'tcp', srcIp: string, reply: (text: string) => void): void {
    const m = this.msg;
    if (parseSipMessage(buf, 0, buf.length, m, this.anomalies) !== SipParseStatus.Ok || !m.isRequest) return;
    const branch = m.topVia?.branch ?? '';
    this.received.push({ atMs: Date.now() - this.t0, srcPort, branch, callId: m.callId, text: buf.toString('latin1'), transport });
    const p = this.policy;
    const n = (this.copies.get(branch) ?? 0) + 1;
    this.copies.set(branch, n);
    if (p.ignoreAll || p.ignorePorts.has(srcPort)) return;
    if (p.onlyPorts.size > 0 && !p.onlyPorts.has(srcPort)) return;
    if (n <= p.dropFirst) return;
    const junk = p.junkBefore.map((f) => f(m));
    const response = buildResponse(m, p.code, p.reason, srcIp, srcPort, p.wrongCallId ? 'someone-else@127.0.0.1' : undefined);
    const send = (): void => {
      for (const j of junk) reply(j);
      reply(response);
      if (p.duplicate) reply(response);
    };
    if (p.delayMs > 0) {
      const t = setTimeout(() => {
        this.timers.delete(t);
        send();
      }, p.delayMs);
      this.timers.add(t);
    } else send();
  }

  /** Close every TCP connection from the server side (a restart, an idle timeout). */
  dropConnections(): void {
    for (const c of this.conns) c.destroy();
  }

  /** Source ports of the TCP connections accepted so far. */
  readonly tcpPeers: number[] = [];

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.udp?.close();
    this.udp = undefined;
    for (const c of this.conns) c.destroy();
    const tcp = this.tcp;
    this.tcp = undefined;
    if (tcp) await new Promise<void>((resolve) => tcp.close(() => resolve()));
  }
}
