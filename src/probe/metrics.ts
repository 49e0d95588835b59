/**
 * Prometheus families for the probe. Histograms keep cumulative bucket counts, not the
 * observations, so a canary that runs for months uses the same memory on day one and day 100.
 */
import type { MetricFamily, Sample } from '../report/prometheus.js';
import type { Outcome, ProbeEvent } from './probe.js';
import { OUTCOMES } from './probe.js';

/** Round-trip buckets in seconds: loopback to a slow transatlantic server, up to T2. */
export const RTT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4] as const;

class Histogram {
  readonly counts = new Array<number>(RTT_BUCKETS.length).fill(0);
  sum = 0;
  count = 0;
  observe(v: number): void {
    for (let i = 0; i < RTT_BUCKETS.length; i++) if (v <= RTT_BUCKETS[i]!) this.counts[i]!++;
    this.sum += v;
    this.count++;
  }
  samples(labels: Record<string, string>): Sample[] {
    const out: Sample[] = RTT_BUCKETS.map((le, i) => ({ suffix: '_bucket', labels: { ...labels, le: String(le) }, value: this.counts[i]! }));
    out.push({ suffix: '_bucket', labels: { ...labels, le: '+Inf' }, value: this.count });
    out.push({ suffix: '_sum', labels, value: Math.round(this.sum * 1e6) / 1e6 });
    out.push({ suffix: '_count', labels, value: this.count });
    return out;
  }
}

interface TargetMetrics {
  target: string;
  address: string;
  transport: string;
  fixedPort: number;
  outcomes: Record<Outcome, number>;
  pinned: number;
  up: { fixed: number; fresh: number };
  rtt: { fixed: Histogram; fresh: Histogram };
  sent: { fixed: number; fresh: number };
  failures: { fixed: number; fresh: number };
  stray: number;
  late: number;
  lastRound: number;
}

export class ProbeMetrics {
  private readonly targets = new Map<string, TargetMetrics>();

  /** Declare a target before its first round, so every series exists (at 0) from the start. */
  addTarget(target: string, address: string, transport: string, fixedPort: number): void {
    if (this.targets.has(target)) return;
    const outcomes = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
    this.targets.set(target, {
      target,
      address,
      transport,
      fixedPort,
      outcomes,
      pinned: 0,
      up: { fixed: 0, fresh: 0 },
      rtt: { fixed: new Histogram(), fresh: new Histogram() },
      sent: { fixed: 0, fresh: 0 },
      failures: { fixed: 0, fresh: 0 },
      stray: 0,
      late: 0,
      lastRound: 0,
    });
  }

  observe(e: ProbeEvent): void {
    this.addTarget(e.target, e.address, e.transport, e.fixedPort);
    const t = this.targets.get(e.target)!;
    t.fixedPort = e.fixedPort;
    t.outcomes[e.outcome]++;
    t.pinned = e.outcome === 'pinned' ? 1 : 0;
    for (const kind of ['fixed', 'fresh'] as const) {
      const side = e[kind];
      t.sent[kind] += side.sent;
      t.up[kind] = side.code !== null ? 1 : 0;
      if (side.rttMs !== null) t.rtt[kind].observe(side.rttMs / 1000);
      else t.failures[kind]++;
    }
    t.stray += e.stray;
    t.late += e.late;
    t.lastRound = Date.parse(e.at) / 1000;
  }

  families(): MetricFamily[] {
    const all = [...this.targets.values()];
    const per = (fn: (t: TargetMetrics) => Sample[]): Sample[] => all.flatMap(fn);
    const kinds = ['fixed', 'fresh'] as const;
    return [
      {
        name: 'stalepin_probe_info',
        help: 'Probe target, its resolved address, transport and fixed source port (value 1).',
        type: 'gauge',
        samples: per((t) => [{ labels: { target: t.target, address: t.address, transport: t.transport, fixed_port: t.fixedPort }, value: 1 }]),
      },
      {
        name: 'stalepin_probe_rounds_total',
        help: 'Probe rounds by outcome: ok, pinned (fixed port fails, fresh port answers), down, fresh-only-fail.',
        type: 'counter',
        samples: per((t) => OUTCOMES.map((o) => ({ labels: { target: t.target, outcome: o }, value: t.outcomes[o] }))),
      },
      {
        name: 'stalepin_probe_pinned',
        help: '1 when the last round was pinned: the fixed source port got no answer while a fresh port did.',
        type: 'gauge',
        samples: per((t) => [{ labels: { target: t.target }, value: t.pinned }]),
      },
      {
        name: 'stalepin_probe_up',
        help: '1 when the last round got a SIP response on this port kind.',
        type: 'gauge',
        samples: per((t) => kinds.map((k) => ({ labels: { target: t.target, port_kind: k }, value: t.up[k] }))),
      },
      {
        name: 'stalepin_probe_rtt_seconds',
        help: 'Time from the first transmission of the OPTIONS to the first response, per port kind.',
        type: 'histogram',
        samples: per((t) => kinds.flatMap((k) => t.rtt[k].samples({ target: t.target, port_kind: k }))),
      },
      {
        name: 'stalepin_probe_failures_total',
        help: 'Transactions with no response before the timeout (or a socket error), per port kind.',
        type: 'counter',
        samples: per((t) => kinds.map((k) => ({ labels: { target: t.target, port_kind: k }, value: t.failures[k] }))),
      },
      {
        name: 'stalepin_probe_transmissions_total',
        help: 'OPTIONS transmissions including timer E retransmissions, per port kind.',
        type: 'counter',
        samples: per((t) => kinds.map((k) => ({ labels: { target: t.target, port_kind: k }, value: t.sent[k] }))),
      },
      {
        name: 'stalepin_probe_stray_messages_total',
        help: 'Datagrams or messages received that belong to no transaction of the probe.',
        type: 'counter',
        samples: per((t) => [{ labels: { target: t.target }, value: t.stray }]),
      },
      {
        name: 'stalepin_probe_late_responses_total',
        help: 'Responses to the probe transactions that arrived after the transaction ended.',
        type: 'counter',
        samples: per((t) => [{ labels: { target: t.target }, value: t.late }]),
      },
      {
        name: 'stalepin_probe_last_round_timestamp_seconds',
        help: 'Unix time of the start of the last completed round.',
        type: 'gauge',
        samples: per((t) => [{ labels: { target: t.target }, value: t.lastRound }]),
      },
    ];
  }
}
