/**
 * The sticky-tuple canary. Each round sends one OPTIONS from a source port kept for the whole
 * run (the way a carrier sends every INVITE) and one from a fresh ephemeral port, at the same
 * moment, to the same target. A connection tracker that pinned the fixed tuple to a dead backend
 * lets the fresh one through and drops the fixed one: outcome `pinned`, the incident signature
 * that health checks from fresh ports never see.
 *
 * The core emits one typed event per target and round; printing, metrics and exit codes are the
 * caller's business.
 */
import type { AnomalyRecord } from '../core/anomalies.js';
import { Anomalies } from '../core/anomalies.js';
import { badUsage, StalepinError } from '../core/errors.js';
import { formatIso } from '../core/time.js';
import { Channel, ChannelCounters, RFC3261_TIMERS, type SideResult, TcpChannel, type Timers, UdpChannel } from './channel.js';
import { buildOptions, checkUri, hostPart, newBranch, newCallId, newTag, type ProbeTransport } from './message.js';
import { localAddressFor, type ProbeTarget, resolveTarget } from './target.js';

export type Outcome = 'ok' | 'pinned' | 'down' | 'fresh-only-fail';
export const OUTCOMES: readonly Outcome[] = ['ok', 'pinned', 'down', 'fresh-only-fail'];

export type { SideResult } from './channel.js';

export interface ProbeEvent {
  outcome: Outcome;
  /** The target as given ("host:port"). */
  target: string;
  /** Its resolved address. */
  address: string;
  transport: ProbeTransport;
  fixedPort: number;
  freshPort: number;
  fixed: SideResult;
  fresh: SideResult;
  /** 1-based round number. */
  round: number;
  /** Start of the round, ISO 8601 UTC (milliseconds: the clock the round is scheduled on). */
  at: string;
  /** Messages that matched no transaction, and late responses, since the previous event. */
  stray: number;
  late: number;
}

export interface ProbeConfig {
  targets: string[];
  /** Empty: the kernel picks each target's fixed port. One value with several targets: N, N+1, ... */
  fixedPorts?: number[];
  intervalMs: number;
  timeoutMs: number;
  /** Rounds to run; undefined: until the signal aborts. */
  count?: number;
  transport: ProbeTransport;
  from?: string;
  to?: string;
  /** Local address to send from (default: the kernel's choice per target). */
  bind?: string;
  timers?: Timers;
  userAgent?: string;
}

export interface ProbeSummary {
  rounds: number;
  outcomes: Record<Outcome, number>;
  /** Stray and late messages over the whole run, all targets. */
  stray: number;
  late: number;
  anomalies: AnomalyRecord[];
  /** True when the run ended by the signal rather than --count. */
  aborted: boolean;
}

export function outcomeOf(fixedOk: boolean, freshOk: boolean): Outcome {
  if (fixedOk && freshOk) return 'ok';
  if (!fixedOk && !freshOk) return 'down';
  return fixedOk ? 'fresh-only-fail' : 'pinned';
}

/** Fixed port per target from the --fixed-port values (see ProbeConfig.fixedPorts). */
export function assignFixedPorts(values: number[] | undefined, targets: number): number[] {
  const v = values ?? [];
  for (const p of v) if (!Number.isInteger(p) || p < 1 || p > 65535) throw badUsage(`--fixed-port: not a port number: ${p}`);
  let out: number[];
  if (v.length === 0) out = new Array<number>(targets).fill(0);
  else if (v.length === 1) {
    if (v[0]! + targets - 1 > 65535) throw badUsage(`--fixed-port: ${v[0]} + ${targets - 1} targets passes 65535`);
    out = Array.from({ length: targets }, (_, i) => v[0]! + i);
  } else if (v.length === targets) out = [...v];
  else throw badUsage(`--fixed-port: give one port (N, N+1, ... per target) or one per target (${targets}), not ${v.length}`);
  if (new Set(out.filter((p) => p !== 0)).size !== out.filter((p) => p !== 0).length) throw badUsage('--fixed-port: each target needs its own port');
  return out;
}

function bindError(e: unknown, port: number, transport: string): StalepinError {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  if (code === 'EADDRINUSE') return badUsage(`--fixed-port ${port}: ${transport} port in use (EADDRINUSE)`);
  if (code === 'EACCES') return new StalepinError('permission', `--fixed-port ${port}: permission denied (ports below 1024 need CAP_NET_BIND_SERVICE)`);
  if (code === 'EADDRNOTAVAIL') return badUsage(`--bind: address not available on this host (EADDRNOTAVAIL)`);
  return badUsage(`cannot bind ${transport} port ${port}: ${code || (e as Error).message}`);
}

class TargetRunner {
  readonly counters = new ChannelCounters();
  fixed!: Channel;
  private cseqFixed = 0;
  private readonly fromTag = newTag();
  private reportedStray = 0;
  private reportedLate = 0;
  private fresh: Channel | undefined;

  constructor(
    readonly target: ProbeTarget,
    readonly wantFixedPort: number,
    readonly localIp: string,
    private readonly cfg: ProbeConfig,
  ) {}

  private newChannel(): Channel {
    const C = this.cfg.transport === 'tcp' ? TcpChannel : UdpChannel;
    return new C(this.target.ip, this.target.port, this.localIp, this.counters);
  }

  async open(): Promise<void> {
    this.fixed = this.newChannel();
    try {
      await this.fixed.open(this.wantFixedPort, this.cfg.bind, true);
    } catch (e) {
      throw bindError(e, this.wantFixedPort, this.cfg.transport.toUpperCase());
    }
  }

  private builder(cseq: number) {
    const from = this.cfg.from ?? `sip:stalepin@${hostPart(this.localIp)}`;
    const to = this.cfg.to ?? `sip:${hostPart(this.target.host)}:${this.target.port}`;
    return (localIp: string, localPort: number) => {
      const branch = newBranch();
      const callId = newCallId(localIp);
      const bytes = buildOptions({
        requestUri: to,
        from,
        to,
        transport: this.cfg.transport,
        localIp,
        localPort,
        branch,
        callId,
        fromTag: this.fromTag,
        cseq,
        userAgent: this.cfg.userAgent ?? 'stalepin',
      });
      return { bytes, branch, callId };
    };
  }

  async round(n: number, at: string): Promise<ProbeEvent> {
    const timers = this.cfg.timers ?? RFC3261_TIMERS;
    const fresh = this.newChannel();
    this.fresh = fresh;
    const freshSide = (async (): Promise<SideResult> => {
      try {
        await fresh.open(0, this.cfg.bind);
      } catch (e) {
        return { code: null, reason: null, rttMs: null, sent: 0, port: 0, error: (e as NodeJS.ErrnoException).code ?? 'bind', responder: null };
      }
      try {
        return await fresh.transact(this.builder(1), this.cfg.timeoutMs, timers);
      } finally {
        fresh.close();
      }
    })();
    this.cseqFixed++;
    const [fixed, freshRes] = await Promise.all([this.fixed.transact(this.builder(this.cseqFixed), this.cfg.timeoutMs, timers), freshSide]);
    this.fresh = undefined;
    if (n === 1 && this.cfg.transport === 'tcp' && this.wantFixedPort && (fixed.error === 'EADDRINUSE' || fixed.error === 'EADDRNOTAVAIL'))
      throw bindError({ code: 'EADDRINUSE' }, this.wantFixedPort, 'TCP');
    const stray = this.counters.stray - this.reportedStray;
    const late = this.counters.late - this.reportedLate;
    this.reportedStray = this.counters.stray;
    this.reportedLate = this.counters.late;
    return {
      outcome: outcomeOf(fixed.code !== null, freshRes.code !== null),
      target: this.target.label,
      address: this.target.address,
      transport: this.cfg.transport,
      fixedPort: fixed.port || this.fixed.localPort,
      freshPort: freshRes.port,
      fixed,
      fresh: freshRes,
      round: n,
      at,
      stray,
      late,
    };
  }

  close(): void {
    this.fixed?.close();
    this.fresh?.close();
  }
}

function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

export class Probe {
  private constructor(
    private readonly cfg: ProbeConfig,
    private readonly runners: TargetRunner[],
  ) {}

  /** Resolve the targets and bind the fixed ports. Throws StalepinError (exit 2) on bad input. */
  static async start(cfg: ProbeConfig): Promise<Probe> {
    if (cfg.targets.length === 0) throw badUsage('give at least one target (HOST:PORT)');
    if (!(cfg.intervalMs > 0)) throw badUsage('--interval must be greater than 0');
    if (!(cfg.timeoutMs > 0)) throw badUsage('--timeout must be greater than 0');
    if (cfg.count !== undefined && (!Number.isInteger(cfg.count) || cfg.count < 1)) throw badUsage(`--count: not a positive whole number: ${cfg.count}`);
    if (cfg.from !== undefined) checkUri('--from', cfg.from);
    if (cfg.to !== undefined) checkUri('--to', cfg.to);
    const ports = assignFixedPorts(cfg.fixedPorts, cfg.targets.length);
    const targets = await Promise.all(cfg.targets.map((t) => resolveTarget(t)));
    const runners: TargetRunner[] = [];
    try {
      for (let i = 0; i < targets.length; i++) {
        const t = targets[i]!;
        const bindV6 = cfg.bind?.includes(':');
        if (cfg.bind !== undefined && bindV6 !== t.ip.includes(':'))
          throw badUsage(`--bind ${cfg.bind} and target ${t.label} are of different address families`);
        const local = cfg.bind ?? (await localAddressFor(t.ip, t.port));
        const r = new TargetRunner(t, ports[i]!, local, cfg);
        await r.open();
        runners.push(r);
      }
    } catch (e) {
      for (const r of runners) r.close();
      throw e;
    }
    return new Probe(cfg, runners);
  }

  /** Targets with their fixed ports (for a header line and the metrics' info series). */
  targets(): { target: string; address: string; fixedPort: number }[] {
    return this.runners.map((r) => ({ target: r.target.label, address: r.target.address, fixedPort: r.fixed.localPort }));
  }

  /**
   * Run rounds every interval (rounds start on a fixed schedule; one that overruns pushes the next
   * to its end) until `count` rounds or the signal. Calls `onEvent` for every target of a round,
   * in target order, when the round is complete. Closes the sockets when it returns.
   */
  async run(onEvent: (e: ProbeEvent) => void | Promise<void>, signal?: AbortSignal): Promise<ProbeSummary> {
    const outcomes = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
    let rounds = 0;
    const onAbort = (): void => {
      for (const r of this.runners) r.close();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const t0 = Date.now();
      for (let n = 1; this.cfg.count === undefined || n <= this.cfg.count; n++) {
        if (signal?.aborted) break;
        const startMs = Date.now();
        const at = formatIso(Math.floor(startMs / 1000), (startMs % 1000) * 1e6, 3);
        const events = await Promise.all(this.runners.map((r) => r.round(n, at)));
        // A round cut short by the signal is not a measurement.
        if (signal?.aborted) break;
        rounds++;
        for (const e of events) {
          outcomes[e.outcome]++;
          await onEvent(e);
        }
        if (this.cfg.count !== undefined && n >= this.cfg.count) break;
        const next = t0 + n * this.cfg.intervalMs;
        await abortableSleep(Math.max(0, next - Date.now()), signal);
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.close();
    }
    const anomalies = new Anomalies();
    for (const r of this.runners) anomalies.merge(r.counters.anomalies);
    return {
      rounds,
      outcomes,
      stray: this.runners.reduce((a, r) => a + r.counters.stray, 0),
      late: this.runners.reduce((a, r) => a + r.counters.late, 0),
      anomalies: anomalies.list(),
      aborted: signal?.aborted ?? false,
    };
  }

  close(): void {
    for (const r of this.runners) r.close();
  }
}
