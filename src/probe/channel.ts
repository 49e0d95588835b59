/**
 * One local port talking to one target: a UDP socket, or a TCP connection. A channel runs
 * OPTIONS client transactions (RFC 3261 17.1.2) and matches responses to them by the top Via
 * branch and the Call-ID; everything else that arrives is counted, never acted on.
 *
 * UDP sockets stay unconnected: a connected socket would have the kernel drop a response from
 * any other address, and the probe wants to see (and count) those, the same way on both the
 * fixed and the fresh port, so the two sides differ only in their source port.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { Anomalies } from '../core/anomalies.js';
import { formatEndpoint } from '../core/address.js';
import { SIP_LIMITS, SipMessage } from '../sip/message.js';
import { findHeaderEnd, parseSipMessage, SipParseStatus } from '../sip/parser.js';

/** Timer values (RFC 3261 17.1.2.2): T1 500 ms, T2 4 s; tests shrink them. */
export interface Timers {
  t1Ms: number;
  t2Ms: number;
}

export const RFC3261_TIMERS: Timers = { t1Ms: 500, t2Ms: 4000 };

/** What one side (fixed or fresh port) of a round saw. */
export interface SideResult {
  /** Local port the request left from. */
  port: number;
  /** Status code of the first response, null when none. */
  code: number | null;
  reason: string | null;
  /** From the first transmission to the first response, milliseconds (3 decimals). */
  rttMs: number | null;
  /** Transmissions of the request (1 + retransmissions). */
  sent: number;
  /** Why no response: "timeout", or the socket error code (ECONNREFUSED, EHOSTUNREACH, ...). */
  error: string | null;
  /** Who answered ("ip:port"). */
  responder: string | null;
}

/** The request of one transaction, built once the local address and port are known. */
export interface BuiltRequest {
  bytes: Buffer;
  branch: string;
  callId: string;
}
export type RequestBuilder = (localIp: string, localPort: number) => BuiltRequest;

/** Counters a channel feeds; shared by the two channels of a target. */
export class ChannelCounters {
  /** Datagrams or TCP messages that belong to no transaction of ours. */
  stray = 0;
  /** Responses to our own transactions after they ended (answered or timed out). */
  late = 0;
  readonly anomalies = new Anomalies();
}

/** Anomaly names the channels count. */
export const PROBE_ANOMALIES = [
  'probe_stray_not_sip',
  'probe_stray_request',
  'probe_stray_unmatched',
  'probe_late_response',
  'probe_tcp_bad_framing',
] as const;

interface Pending {
  branch: string;
  callId: string;
  startNs: bigint;
  sent: number;
  lastError: string | null;
  done: (r: SideResult) => void;
}

/** Branches of recently ended transactions, to tell a late answer from a stray one. Bounded. */
const RECENT_LIMIT = 64;

const scratch = new SipMessage();
const parserAnomalies = new Anomalies();

function msSince(startNs: bigint): number {
  return Math.round(Number(process.hrtime.bigint() - startNs) / 1e3) / 1e3;
}

export abstract class Channel {
  /** Local port once bound or connected, else 0. */
  localPort = 0;
  protected readonly pending = new Map<string, Pending>();
  private readonly recent: string[] = [];
  closed = false;

  constructor(
    readonly targetIp: string,
    readonly targetPort: number,
    /** The local address requests carry in Via and Contact. */
    public localIp: string,
    protected readonly counters: ChannelCounters,
  ) {}

  /** Bind (UDP) or prepare (TCP). `keep`: the port must stay the same for the whole run. */
  abstract open(port: number, bindIp: string | undefined, keep?: boolean): Promise<void>;
  abstract transact(build: RequestBuilder, timeoutMs: number, timers: Timers): Promise<SideResult>;
  abstract close(): void;

  /** A complete SIP message arrived: resolve its transaction or count it. */
  protected deliver(buf: Uint8Array, off: number, len: number, remote: string): void {
    const st = parseSipMessage(buf, off, len, scratch, parserAnomalies);
    if (st !== SipParseStatus.Ok) {
      this.stray('probe_stray_not_sip');
      return;
    }
    if (scratch.isRequest) {
      this.stray('probe_stray_request');
      return;
    }
    const via = scratch.topVia;
    const branch = via?.branch ?? '';
    const p = this.pending.get(branch);
    if (p === undefined || p.callId !== scratch.callId) {
      if (branch !== '' && this.recent.includes(branch)) {
        this.counters.late++;
        this.counters.anomalies.add('probe_late_response');
      } else this.stray('probe_stray_unmatched');
      return;
    }
    this.finish(p, {
      code: scratch.statusCode,
      reason: scratch.reason,
      rttMs: msSince(p.startNs),
      error: null,
      responder: remote,
    });
  }

  private stray(name: string): void {
    this.counters.stray++;
    this.counters.anomalies.add(name);
  }

  protected finish(p: Pending, r: Omit<SideResult, 'port' | 'sent'>): void {
    if (this.pending.get(p.branch) !== p) return;
    this.pending.delete(p.branch);
    this.recent.push(p.branch);
    if (this.recent.length > RECENT_LIMIT) this.recent.shift();
    p.done({ code: r.code, reason: r.reason, rttMs: r.rttMs, sent: p.sent, port: this.localPort, error: r.error, responder: r.responder });
  }

  protected failAll(error: string): void {
    for (const p of [...this.pending.values()]) this.finish(p, { code: null, reason: null, rttMs: null, error, responder: null });
  }

  protected newPending(branch: string, callId: string, done: (r: SideResult) => void): Pending {
    const p: Pending = { branch, callId, startNs: process.hrtime.bigint(), sent: 0, lastError: null, done };
    this.pending.set(branch, p);
    return p;
  }
}

function errCode(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err?.code ?? err?.message ?? String(e);
}

export class UdpChannel extends Channel {
  private socket: dgram.Socket | undefined;

  async open(port: number, bindIp: string | undefined): Promise<void> {
    const v6 = this.targetIp.includes(':');
    const s = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4' });
    s.on('message', (msg, rinfo) => this.deliver(msg, 0, msg.length, formatEndpoint(rinfo.address, rinfo.port)));
    // Errors after bind (ICMP on some platforms) are not fatal to an unconnected socket.
    s.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      const fail = (e: Error): void => reject(e);
      s.once('error', fail);
      s.bind({ port, address: bindIp ?? (v6 ? '::' : '0.0.0.0'), exclusive: true }, () => {
        s.off('error', fail);
        resolve();
      });
    }).catch((e) => {
      s.close();
      throw e;
    });
    this.socket = s;
    this.localPort = s.address().port;
  }

  transact(build: RequestBuilder, timeoutMs: number, timers: Timers): Promise<SideResult> {
    const s = this.socket;
    if (!s || this.closed) return Promise.resolve(failed(this.localPort, 'closed'));
    const req = build(this.localIp, this.localPort);
    return new Promise<SideResult>((resolve) => {
      let retransmit: NodeJS.Timeout | undefined;
      let deadline: NodeJS.Timeout | undefined;
      const p = this.newPending(req.branch, req.callId, (r) => {
        clearTimeout(retransmit);
        clearTimeout(deadline);
        resolve(r);
      });
      const send = (): void => {
        p.sent++;
        s.send(req.bytes, this.targetPort, this.targetIp, (err) => {
          if (err) p.lastError = errCode(err);
        });
      };
      // Timer E: retransmit after T1, doubling, capped at T2, until the probe's own timeout
      // (shorter than timer F's 64*T1, which would make a round last 32 s).
      let interval = timers.t1Ms;
      const arm = (): void => {
        retransmit = setTimeout(() => {
          send();
          interval = Math.min(interval * 2, timers.t2Ms);
          arm();
        }, interval);
      };
      deadline = setTimeout(() => {
        this.finish(p, { code: null, reason: null, rttMs: null, error: p.lastError ?? 'timeout', responder: null });
      }, timeoutMs);
      send();
      arm();
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.failAll('closed');
    this.socket?.close();
    this.socket = undefined;
  }
}

function reservePort(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen({ port, host, exclusive: true }, () => {
      const got = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(got));
    });
  });
}

function failed(port: number, error: string): SideResult {
  return { code: null, reason: null, rttMs: null, sent: 0, port, error, responder: null };
}

/**
 * SIP over TCP. The fixed side keeps one connection for the whole run, the way a carrier's
 * trunk does, and reconnects from the same local port when it drops; the fresh side opens one
 * connection per round. Responses are framed by Content-Length (RFC 3261 18.3) in a buffer
 * reused for the connection's lifetime.
 */
export class TcpChannel extends Channel {
  private socket: net.Socket | undefined;
  private connected = false;
  private bindIp: string | undefined;
  /** The port asked for (0: let the kernel pick, then keep it for reconnects). */
  private wantPort = 0;
  private hold = Buffer.alloc(4096);
  private held = 0;
  /** Error of the last connection attempt, reported with the next failed transaction. */
  lastConnectError: string | null = null;

  async open(port: number, bindIp: string | undefined, keep = false): Promise<void> {
    this.bindIp = bindIp;
    // A kept port is chosen now, so it is known (and reported) before the first connection:
    // a listening socket on it, closed at once, finds a free one or tells that N is taken.
    this.wantPort = keep ? await reservePort(port, bindIp ?? (this.targetIp.includes(':') ? '::' : '0.0.0.0')) : port;
    this.localPort = this.wantPort;
  }

  private connect(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const opts: net.NetConnectOpts = { host: this.targetIp, port: this.targetPort, noDelay: true };
      if (this.wantPort) opts.localPort = this.wantPort;
      if (this.bindIp) opts.localAddress = this.bindIp;
      const s = net.connect(opts);
      this.socket = s;
      this.held = 0;
      const timer = setTimeout(() => {
        s.destroy();
        reject(Object.assign(new Error('connect timeout'), { code: 'timeout' }));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        this.connected = true;
        this.localPort = s.localPort ?? this.localPort;
        if (!this.wantPort) this.wantPort = this.localPort;
        if (s.localAddress) this.localIp = s.localAddress.replace(/^::ffff:/, '');
        resolve();
      });
      s.on('data', (chunk: Buffer) => this.onData(chunk, s));
      // Until 'connect', an error or a close (the channel closed by the signal) ends the attempt.
      s.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
        this.dropConnection(s, errCode(e));
      });
      s.on('close', () => {
        clearTimeout(timer);
        reject(Object.assign(new Error('closed'), { code: 'closed' }));
        this.dropConnection(s, 'closed');
      });
    });
  }

  private dropConnection(s: net.Socket, error: string): void {
    if (this.socket !== s) return;
    this.socket = undefined;
    this.connected = false;
    this.held = 0;
    s.destroy();
    this.failAll(error);
  }

  private onData(chunk: Buffer, s: net.Socket): void {
    if (this.socket !== s) return;
    if (this.held + chunk.length > this.hold.length) {
      if (this.held + chunk.length > SIP_LIMITS.maxMessageSize * 2) {
        this.counters.anomalies.add('probe_tcp_bad_framing');
        this.dropConnection(s, 'bad_framing');
        return;
      }
      const bigger = Buffer.alloc(Math.max(this.hold.length * 2, this.held + chunk.length));
      this.hold.copy(bigger, 0, 0, this.held);
      this.hold = bigger;
    }
    chunk.copy(this.hold, this.held);
    this.held += chunk.length;
    const remote = formatEndpoint((s.remoteAddress ?? '').replace(/^::ffff:/, ''), s.remotePort ?? 0);
    let p = 0;
    for (;;) {
      // Keep-alive CRLFs (RFC 5626 3.5.1) between messages.
      while (p < this.held && (this.hold[p] === 13 || this.hold[p] === 10)) p++;
      if (p >= this.held) break;
      const he = findHeaderEnd(this.hold, p, this.held);
      if (he < 0) {
        if (this.held - p > SIP_LIMITS.maxMessageSize) {
          this.counters.anomalies.add('probe_tcp_bad_framing');
          this.dropConnection(s, 'bad_framing');
          return;
        }
        break;
      }
      // Parse the header block to learn the Content-Length; the full message is parsed again
      // once the body is in (a response to OPTIONS usually has none).
      const st = parseSipMessage(this.hold, p, he - p, scratch, parserAnomalies);
      const cl = st === SipParseStatus.Ok && scratch.contentLength > 0 ? scratch.contentLength : 0;
      if (st !== SipParseStatus.Ok && st !== SipParseStatus.Invalid) {
        // Not SIP: the stream cannot be framed any further.
        this.deliver(this.hold, p, he - p, remote);
        this.counters.anomalies.add('probe_tcp_bad_framing');
        this.dropConnection(s, 'bad_framing');
        return;
      }
      if (he + cl > this.held) break;
      this.deliver(this.hold, p, he + cl - p, remote);
      p = he + cl;
    }
    if (p > 0 && this.socket === s) {
      this.hold.copy(this.hold, 0, p, this.held);
      this.held -= p;
    }
  }

  async transact(build: RequestBuilder, timeoutMs: number): Promise<SideResult> {
    if (this.closed) return failed(this.localPort, 'closed');
    const start = process.hrtime.bigint();
    if (!this.connected) {
      try {
        await this.connect(timeoutMs);
        this.lastConnectError = null;
      } catch (e) {
        this.lastConnectError = errCode(e);
        return failed(this.localPort, this.lastConnectError);
      }
    }
    const s = this.socket;
    if (!s) return failed(this.localPort, 'closed');
    const left = Math.max(1, timeoutMs - Number(process.hrtime.bigint() - start) / 1e6);
    const req = build(this.localIp, this.localPort);
    return new Promise<SideResult>((resolve) => {
      let deadline: NodeJS.Timeout | undefined;
      const p = this.newPending(req.branch, req.callId, (r) => {
        clearTimeout(deadline);
        resolve(r);
      });
      deadline = setTimeout(() => this.finish(p, { code: null, reason: null, rttMs: null, error: 'timeout', responder: null }), left);
      // Reliable transport: no timer E; one transmission.
      p.sent = 1;
      s.write(req.bytes);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.failAll('closed');
    const s = this.socket;
    this.socket = undefined;
    s?.destroy();
  }
}
