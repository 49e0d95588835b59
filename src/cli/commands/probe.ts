/**
 * `stalepin probe HOST:PORT...`: the sticky-tuple SIP canary. OPTIONS from a fixed source port
 * and from a fresh one every round; `pinned` when only the fixed one goes unanswered.
 */
import { badUsage } from '../../core/errors.js';
import { parseDuration } from '../../core/time.js';
import { renderPrometheus, writePromTextfile } from '../../report/prometheus.js';
import { visible } from '../../report/visible.js';
import { startMetricsServer, type MetricsServer } from '../../probe/http.js';
import { ProbeMetrics } from '../../probe/metrics.js';
import { Probe, type ProbeEvent } from '../../probe/probe.js';
import { eventJson, summaryLine, tableHeader, tableRow } from '../../probe/render.js';
import type { CommandSpec, Io } from '../spec.js';

export interface ProbeOptions {
  fixedPort?: string[];
  interval: string;
  timeout: string;
  count?: number;
  transport: 'udp' | 'tcp';
  from?: string;
  to?: string;
  bind?: string;
  format: 'table' | 'ndjson';
  promTextfile?: string;
  metricsPort?: number;
  metricsAddress: string;
  quiet: boolean;
  debug: boolean;
}

function duration(option: string, text: string): number {
  const ns = parseDuration(text);
  if (ns === undefined || ns <= 0) throw badUsage(`${option}: not a duration (e.g. 500ms, 2s, 1m): ${text}`);
  return ns / 1e6;
}

function write(io: Io, text: string): Promise<void> {
  return new Promise((resolve) => {
    if (io.stdout.write(text)) resolve();
    else io.stdout.once('drain', () => resolve());
  });
}

export const probeCommand: CommandSpec<ProbeOptions> = {
  name: 'probe',
  summary: 'SIP OPTIONS canary from a fixed and a fresh source port: finds tuples pinned to a dead backend',
  help: `Each round sends an OPTIONS from the target's fixed source port (kept for the whole run) and
one from a fresh ephemeral port, at the same time. Any SIP response counts as reachable.
Outcomes: ok, pinned (fixed port unanswered, fresh port answered: a stale tracker entry),
down (neither answered), fresh-only-fail.

Examples:
  stalepin probe 203.0.113.10:5060 --fixed-port 5070 --interval 10s
  stalepin probe sbc1.example.net sbc2.example.net --count 6 --format ndjson
  stalepin probe 203.0.113.10 --metrics-port 9465 --prom-textfile /var/lib/node_exporter/stalepin_probe.prom

Exit codes: with --count, 1 when any round was pinned or down, else 0; without it the probe
runs until SIGINT/SIGTERM and exits 0. 2 bad usage (unresolvable target, port in use).`,
  args: [{ name: 'target', description: 'HOST[:PORT], IP:PORT or [IPv6]:PORT (default port 5060)', variadic: true, required: true }],
  options: [
    { key: 'fixedPort', flags: '--fixed-port <ports>', description: 'fixed source port: one (N, N+1, ... for several targets) or one per target, comma separated (default: picked once, kept)', kind: 'list' },
    { key: 'interval', flags: '--interval <duration>', description: 'time between rounds', kind: 'string', default: '10s' },
    { key: 'timeout', flags: '--timeout <duration>', description: 'wait for a response this long (UDP retransmits per timer E meanwhile)', kind: 'string', default: '2s' },
    { key: 'count', flags: '--count <n>', description: 'stop after N rounds; exit 1 when any was pinned or down', kind: 'number' },
    { key: 'transport', flags: '--transport <t>', description: 'udp or tcp', kind: 'choice', choices: ['udp', 'tcp'], default: 'udp' },
    { key: 'from', flags: '--from <uri>', description: 'From URI (default sip:stalepin@LOCAL-IP)', kind: 'string' },
    { key: 'to', flags: '--to <uri>', description: 'To and Request-URI (default sip:HOST:PORT)', kind: 'string' },
    { key: 'bind', flags: '--bind <ip>', description: 'local address to send from (default: the route to each target)', kind: 'string' },
    { key: 'format', flags: '-f, --format <fmt>', description: 'table (one row per round) or ndjson (one event per round)', kind: 'choice', choices: ['table', 'ndjson'], default: 'table' },
    { key: 'promTextfile', flags: '--prom-textfile <path>', description: 'write Prometheus metrics to this file after every round (node_exporter textfile collector)', kind: 'string' },
    { key: 'metricsPort', flags: '--metrics-port <port>', description: 'serve Prometheus metrics on http://ADDRESS:PORT/metrics (0: any free port)', kind: 'number' },
    { key: 'metricsAddress', flags: '--metrics-address <ip>', description: 'address of the metrics endpoint', kind: 'string', default: '127.0.0.1' },
  ],
  async run(targets, o, io) {
    const intervalMs = duration('--interval', o.interval);
    const timeoutMs = duration('--timeout', o.timeout);
    const fixedPorts = (o.fixedPort ?? []).map((v) => {
      const n = Number(v);
      if (!/^\d+$/.test(v) || n < 1 || n > 65535) throw badUsage(`--fixed-port: not a port number: ${v}`);
      return n;
    });
    const probe = await Probe.start({
      targets,
      fixedPorts,
      intervalMs,
      timeoutMs,
      count: o.count,
      transport: o.transport,
      from: o.from,
      to: o.to,
      bind: o.bind,
      userAgent: 'stalepin/0.1.0',
    });
    const metrics = new ProbeMetrics();
    for (const t of probe.targets()) metrics.addTarget(t.target, t.address, o.transport, t.fixedPort);
    let server: MetricsServer | undefined;
    try {
      if (o.promTextfile) await writePromTextfile(o.promTextfile, metrics.families());
      if (o.metricsPort !== undefined) {
        server = await startMetricsServer(o.metricsAddress, o.metricsPort, () => renderPrometheus(metrics.families()));
        if (!o.quiet) io.stderr.write(`stalepin: metrics at http://${server.address}/metrics\n`);
      }
      if (!o.quiet) {
        const list = probe.targets().map((t) => `${visible(t.target)} from port ${t.fixedPort}`).join(', ');
        io.stderr.write(`stalepin: probing ${list} over ${o.transport.toUpperCase()} every ${o.interval}\n`);
      }
      const targetWidth = Math.max(6, ...probe.targets().map((t) => visible(t.target).length));
      if (o.format === 'table') await write(io, tableHeader(targetWidth));
      let textfileFailed = false;
      let pending: ProbeEvent[] = [];
      const summary = await probe.run(async (e) => {
        metrics.observe(e);
        await write(io, o.format === 'ndjson' ? eventJson(e) : tableRow(e, targetWidth, io.color));
        pending.push(e);
        if (pending.length < targets.length) return;
        pending = [];
        if (o.promTextfile) {
          try {
            await writePromTextfile(o.promTextfile, metrics.families());
            textfileFailed = false;
          } catch (err) {
            // A canary keeps probing when the disk is full; it says so once per failure streak.
            if (!textfileFailed && !o.quiet) io.stderr.write(`stalepin: warning: ${visible((err as Error).message)}\n`);
            textfileFailed = true;
          }
        }
      }, io.signal);
      if (o.format === 'table') await write(io, summaryLine(summary));
      else if (!o.quiet) io.stderr.write(`stalepin: ${summaryLine(summary)}`);
      if (o.count === undefined) return 0;
      return summary.outcomes.pinned + summary.outcomes.down > 0 ? 1 : 0;
    } finally {
      probe.close();
      await server?.close();
    }
  },
};
