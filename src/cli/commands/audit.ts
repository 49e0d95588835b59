/**
 * `stalepin audit`: the live (or a saved) connection table against the live backend set; stale
 * pins reported, exported as Prometheus metrics, and optionally deleted one exact entry at a time.
 */
import { badUsage, StalepinError } from '../../core/errors.js';
import type { Severity } from '../../findings/types.js';
import { applyFixes, DEFAULT_MAX_DELETES, fixCommands, hasNetAdmin, NO_CAPABILITY, refusal } from '../../audit/fix.js';
import { auditMetrics, previousState, type RunState } from '../../audit/metrics.js';
import { renderAuditMarkdown, renderAuditTable } from '../../audit/render.js';
import { AbortedError, runAudit, type AuditResult, type FixReport } from '../../audit/run.js';
import { runEvery } from '../../audit/schedule.js';
import { emit } from '../../report/output.js';
import { writePromTextfile } from '../../report/prometheus.js';
import { renderJunit } from '../../report/render-analyze.js';
import { visible } from '../../report/visible.js';
import { durationOption, failOnExitCode, printWarnings, timeOption } from '../shared.js';
import type { CommandSpec, Io } from '../spec.js';
import { jsonText } from '../../report/json-text.js';

interface AuditCliOptions {
  conntrack?: string;
  ipvs: boolean;
  netns?: string;
  nodes?: string;
  fromNft: boolean;
  fromIptables: boolean;
  fromIpvs: boolean;
  fromEndpointslices?: string;
  vip: string[];
  tcp: boolean;
  udpStreamTimeout?: string;
  ipvsUdpTimeout?: string;
  refreshedWithin: string;
  recheck: string;
  at?: string;
  format: 'table' | 'json' | 'junit' | 'markdown';
  output?: string;
  failOn: Severity | 'never';
  promTextfile?: string;
  fix?: 'print' | 'apply';
  maxDeletes: number;
  interval?: string;
  jitter?: string;
  limit: number;
  quiet: boolean;
}

const seconds = (flag: string, v: string, allowZero = false): number => durationOption(flag, v, allowZero) / 1e9;

const time = timeOption;
const exitCode = (res: AuditResult, failOn: Severity | 'never'): number => failOnExitCode(res.report.findings, failOn);

export const auditCommand: CommandSpec<AuditCliOptions> = {
  name: 'audit',
  summary: 'compare the conntrack (or IPVS) table with the live backend set: stale pins, metrics, exact fixes',
  help: `Examples:
  sudo stalepin audit --from-nft                                  # this host's table and nftables DNAT
  sudo stalepin audit --netns lb --from-nft --fix print           # one conntrack -D per stale entry
  sudo stalepin audit --from-nft --fix apply --prom-textfile /var/lib/node_exporter/textfile/stalepin.prom
  stalepin audit --conntrack conntrack-after.txt --nodes nft-after.json --format json
  sudo stalepin audit --from-iptables --tcp --interval 1m --prom-textfile /run/stalepin.prom

A stale pin: an entry whose original destination is a service address and whose reply source is
not an active backend. Critical when assured and still refreshed by its client (UDP), warning
otherwise; TCP entries (--tcp) are stuck connections, reported apart, always warnings. A service
with no active backend is never judged.

Exit codes: 0 no finding at or above --fail-on, 1 findings, 2 bad usage, unreadable input,
missing privilege or a refused --fix apply, 3 internal error. With --interval: 0 when stopped.`,
  args: [],
  options: [
    { key: 'conntrack', flags: '--conntrack <file>', description: 'read the table from a file (any conntrack -L form, /proc/net/nf_conntrack, ipvsadm -Lnc; - for stdin) instead of live', kind: 'string' },
    { key: 'ipvs', flags: '--ipvs', description: 'read the live IPVS connection table (ipvsadm -Lnc) instead of conntrack', kind: 'boolean', default: false },
    { key: 'netns', flags: '--netns <name>', description: 'run every live read and every fix inside this network namespace (ip netns exec)', kind: 'string' },
    { key: 'nodes', flags: '--nodes <file>', description: 'backend inventory: stalepin JSON, ADDRESS STATE lines, EndpointSlices, nft -j, iptables-save, ipvsadm (- for stdin)', kind: 'string' },
    { key: 'fromNft', flags: '--from-nft', description: 'backends and services from the live nftables ruleset (nft -j list ruleset)', kind: 'boolean', default: false },
    { key: 'fromIptables', flags: '--from-iptables', description: 'backends and services from the live iptables rules (iptables-save, ip6tables-save)', kind: 'boolean', default: false },
    { key: 'fromIpvs', flags: '--from-ipvs', description: 'backends and services from the live IPVS rules (ipvsadm -Ln)', kind: 'boolean', default: false },
    { key: 'fromEndpointslices', flags: '--from-endpointslices <file>', description: 'backends from kubectl get endpointslices -o json (- for stdin)', kind: 'string' },
    { key: 'vip', flags: '--vip <address>', description: 'service address(es), ip or ip:port (repeatable); else from the backend set', kind: 'list', default: [] },
    { key: 'tcp', flags: '--tcp', description: 'audit TCP entries too (reported apart: stuck connections, not pins)', kind: 'boolean', default: false },
    { key: 'udpStreamTimeout', flags: '--udp-stream-timeout <duration>', description: "the timeout each packet gives an assured UDP entry (default: the namespace's nf_conntrack_udp_timeout_stream when live, else 120s)", kind: 'string' },
    { key: 'ipvsUdpTimeout', flags: '--ipvs-udp-timeout <duration>', description: 'IPVS UDP connection timeout (ipvsadm --set; default 300s)', kind: 'string' },
    { key: 'refreshedWithin', flags: '--refreshed-within <duration>', description: 'an assured entry whose last packet is at most this old is still refreshed: critical', kind: 'string', default: '60s' },
    { key: 'recheck', flags: '--recheck <duration>', description: 'live: read the stale entries again after this long to see refreshes (0: do not)', kind: 'string', default: '2s' },
    { key: 'at', flags: '--at <time>', description: 'time of a table file that carries none of its own (else its modification time)', kind: 'string' },
    { key: 'format', flags: '-f, --format <format>', description: 'report format', kind: 'choice', choices: ['table', 'json', 'junit', 'markdown'], default: 'table' },
    { key: 'output', flags: '-o, --output <file>', description: 'write the report to a file (atomically) instead of stdout', kind: 'string' },
    { key: 'failOn', flags: '--fail-on <severity>', description: 'exit 1 when a finding is at or above this severity', kind: 'choice', choices: ['critical', 'warning', 'info', 'never'], default: 'critical' },
    { key: 'promTextfile', flags: '--prom-textfile <path>', description: "write Prometheus metrics for node_exporter's textfile collector (atomically)", kind: 'string' },
    { key: 'fix', flags: '--fix <mode>', description: 'print: one exact conntrack -D per stale entry on stdout (the report goes to -o only); apply: run them', kind: 'choice', choices: ['print', 'apply'] },
    { key: 'maxDeletes', flags: '--max-deletes <n>', description: '--fix apply deletes at most this many entries per run', kind: 'number', default: DEFAULT_MAX_DELETES },
    { key: 'interval', flags: '--interval <duration>', description: 'keep auditing every DURATION (SIGTERM/SIGINT stop cleanly)', kind: 'string' },
    { key: 'jitter', flags: '--jitter <duration>', description: 'with --interval: random spread of each wait (default a tenth of the interval)', kind: 'string' },
    { key: 'limit', flags: '--limit <n>', description: 'findings the table shows (the JSON lists all)', kind: 'number', default: 100 },
  ],
  async run(_args, o, io) {
    if (!Number.isInteger(o.maxDeletes) || o.maxDeletes < 0) throw badUsage(`--max-deletes: not a count: ${o.maxDeletes}`);
    if (!Number.isInteger(o.limit) || o.limit < 0) throw badUsage(`--limit: not a count: ${o.limit}`);
    if (o.ipvs && o.conntrack !== undefined) throw badUsage('--ipvs reads the live IPVS table; give a saved ipvsadm -Lnc with --conntrack alone');
    if (o.conntrack === '-' && (o.nodes === '-' || o.fromEndpointslices === '-')) throw badUsage('only one input can read standard input');
    if (o.jitter !== undefined && o.interval === undefined) throw badUsage('--jitter needs --interval');
    // Fail before reading anything: a timer that cannot delete should say so at once.
    if (o.fix === 'apply' && !hasNetAdmin()) throw new StalepinError('permission', NO_CAPABILITY);
    const intervalS = o.interval !== undefined ? seconds('--interval', o.interval) : undefined;
    const jitterS = o.jitter !== undefined ? seconds('--jitter', o.jitter, true) : intervalS !== undefined ? intervalS / 10 : 0;
    const auditOpts = {
      ...(o.conntrack !== undefined ? { conntrack: o.conntrack } : {}),
      ipvs: o.ipvs,
      ...(o.netns !== undefined ? { netns: o.netns } : {}),
      ...(o.nodes !== undefined ? { nodes: o.nodes } : {}),
      fromNft: o.fromNft,
      fromIptables: o.fromIptables,
      fromIpvs: o.fromIpvs,
      ...(o.fromEndpointslices !== undefined ? { fromEndpointSlices: o.fromEndpointslices } : {}),
      vips: o.vip,
      tcp: o.tcp,
      ...(o.udpStreamTimeout !== undefined ? { udpStreamTimeoutS: seconds('--udp-stream-timeout', o.udpStreamTimeout) } : {}),
      ...(o.ipvsUdpTimeout !== undefined ? { ipvsUdpTimeoutS: seconds('--ipvs-udp-timeout', o.ipvsUdpTimeout) } : {}),
      refreshedWithinS: seconds('--refreshed-within', o.refreshedWithin, true),
      recheckMs: seconds('--recheck', o.recheck, true) * 1000,
      ...(o.at !== undefined ? { at: time('--at', o.at)! } : {}),
      stdin: io.stdin,
      signal: io.signal,
    };
    const state: RunState = o.promTextfile ? await previousState(o.promTextfile) : { runs: 0, errors: 0, lastSuccess: 0 };

    const once = async (): Promise<number> => {
      const t0 = Date.now();
      state.runs++;
      let res: AuditResult;
      try {
        res = await runAudit(auditOpts);
      } catch (e) {
        if (e instanceof AbortedError || io.signal.aborted) throw new AbortedError();
        state.errors++;
        if (o.promTextfile) {
          const code = e instanceof StalepinError ? e.code : 'internal';
          await writePromTextfile(o.promTextfile, auditMetrics(undefined, { now: Date.now() / 1000, durationSec: (Date.now() - t0) / 1000, state, error: { code } }));
        }
        throw e;
      }
      let fix: FixReport | undefined;
      let refused: string | undefined;
      if (o.fix === 'apply') {
        refused = refusal(res);
        fix = refused !== undefined ? { mode: 'apply', results: [], refused } : await applyFixes(res, { maxDeletes: o.maxDeletes, signal: io.signal });
        res.report.audit.fix = fix;
      }
      if (!o.quiet) printWarnings(io, res.report.warnings);
      const r = res.report;
      const text =
        o.format === 'json'
          ? jsonText(r, 2) + '\n'
          : o.format === 'junit'
            ? renderJunit(r, o.failOn)
            : o.format === 'markdown'
              ? renderAuditMarkdown(r)
              : renderAuditTable(r, io.color && o.output === undefined, o.limit);
      if (o.fix === 'print') {
        const cmds = fixCommands(res.plans);
        await emit(undefined, cmds.length ? cmds.join('\n') + '\n' : '', io.stdout);
        if (o.output !== undefined) await emit(o.output, text, io.stdout);
      } else await emit(o.output, text, io.stdout);
      state.lastSuccess = Date.now() / 1000;
      if (o.promTextfile) await writePromTextfile(o.promTextfile, auditMetrics(res, { now: state.lastSuccess, durationSec: (Date.now() - t0) / 1000, state }, fix));
      if (refused !== undefined) throw new StalepinError('bad_usage', `refusing --fix apply: ${refused}`);
      return exitCode(res, o.failOn);
    };

    if (intervalS === undefined) {
      try {
        return await once();
      } catch (e) {
        if (e instanceof AbortedError) throw new StalepinError('bad_input', 'interrupted before the audit finished: nothing reported, nothing deleted');
        throw e;
      }
    }
    await runEvery({ intervalMs: intervalS * 1000, jitterMs: jitterS * 1000, signal: io.signal }, async () => {
      try {
        await once();
      } catch (e) {
        if (e instanceof AbortedError) return;
        // Configuration mistakes do not fix themselves; anything else may (a namespace not yet
        // up, a rules reload in progress): say it, count it, try again next time.
        if (e instanceof StalepinError && e.code === 'bad_usage' && !e.message.startsWith('refusing')) throw e;
        if (!o.quiet) reportError(io, e);
      }
    });
    return 0;
  },
};

function reportError(io: Io, e: unknown): void {
  const line = e instanceof StalepinError ? e.oneLine() : `internal error: ${String((e as Error)?.message ?? e)}`;
  io.stderr.write(`stalepin: audit failed: ${visible(line)}\n`);
}
