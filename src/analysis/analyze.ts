/**
 * `analyze` as a library call: inputs (captures, case folders, conntrack files, an inventory)
 * in, the report record out. Captures run through the shared packet pipeline into the LB
 * analyzer; the rules then weigh observations, inventory and conntrack facts.
 */
import { collectGarbage } from '../core/collect.js';
import { stat } from 'node:fs/promises';
import { Anomalies, type Warning } from '../core/anomalies.js';
import { normalizeVip } from '../core/address.js';
import { badUsage, StalepinError } from '../core/errors.js';
import type { Timestamp } from '../core/time.js';
import { defaultRuleOptions, evaluate } from '../findings/rules.js';
import { loadInventory, type Inventory } from '../inventory/index.js';
import { LbAnalyzer, type AnalyzerOptions } from '../observe/analyzer.js';
import type { HeldFlow } from '../observe/flows.js';
import { isoOf, type Flow } from '../observe/types.js';
import { runPackets } from '../pipeline/packets.js';
import { handoffSlots, newHandoffBuffer } from '../sip/handoff.js';
import { canSplit, runSplit, type SplitRunResult } from '../sip/threaded.js';
import { countBySeverity, REPORT_SCHEMA, reportFlows, type Report, type ReportInput } from '../report/analyze.js';
import { classifyFile, scanCaseFolder } from './case-folder.js';
import { loadConntrack } from './conntrack-facts.js';

export interface AnalyzeOptions {
  /** Capture files, "-" for stdin, or case folders. */
  paths: string[];
  conntrack: string[];
  nodes?: string;
  vips: string[];
  at?: Timestamp;
  udpTimeoutS: number;
  timerBNs: number;
  forwardWindowNs: number;
  since?: Timestamp;
  until?: Timestamp;
  callIds: string[];
  sipPorts: number[];
  stdin?: NodeJS.ReadableStream;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number | undefined) => void;
  /** Every classified INVITE transaction (the HTML and Markdown timelines bin them). */
  onInvite?: AnalyzerOptions['onInvite'];
}

export const GENERATOR = 'stalepin 0.1.0';

/** Flows listed in the report at most (all are counted in summary.flows). */
export const MAX_FLOWS_LISTED = 20_000;

/**
 * The flows a report lists, as indexes into `held` (FlowTable.held()): all of them, in order,
 * when there are at most `max`; else those that lost calls first, then the busiest, `max` of
 * them (ties in the order of `held`), by client (ties in the order they were chosen in).
 */
export function listedFlows(held: readonly HeldFlow[], max: number): number[] {
  const order = Array.from(held.keys());
  if (held.length <= max) return order;
  order.sort((a, b) => held[b]!.unanswered - held[a]!.unanswered || held[b]!.invites - held[a]!.invites);
  order.length = max;
  return order.sort((a, b) => (held[a]!.client < held[b]!.client ? -1 : held[a]!.client > held[b]!.client ? 1 : 0));
}

export async function analyze(opts: AnalyzeOptions): Promise<Report> {
  const inputs: ReportInput[] = [];
  const captures: string[] = [];
  const conntrackFiles: string[] = [];
  let inventoryFile = opts.nodes;
  for (const p of opts.paths) {
    const st = p === '-' ? undefined : await stat(p).catch(() => undefined);
    if (st?.isDirectory()) {
      const c = await scanCaseFolder(p);
      inputs.push(...c.inputs);
      captures.push(...c.captures);
      conntrackFiles.push(...c.conntrack);
      if (inventoryFile === undefined) inventoryFile = c.inventory;
      else if (c.inventory) for (const i of inputs) if (i.file === c.inventory) Object.assign(i, { kind: 'ignored', why: `${i.why}; not used: --nodes was given` });
    } else if (st?.isFile()) {
      const c = await classifyFile(p);
      // A file named on the command line is taken as a capture unless it is plainly something else.
      if (c.kind === 'conntrack' || c.kind === 'conntrack-events') conntrackFiles.push(p);
      else if (c.kind === 'inventory' && inventoryFile === undefined) inventoryFile = p;
      else {
        captures.push(p);
        if (c.kind !== 'capture') c.why = 'given as a capture';
        c.kind = 'capture';
      }
      inputs.push(c);
    } else {
      captures.push(p); // stdin, or a missing file: the capture reader says what is wrong
      inputs.push({ file: p, kind: 'capture', format: 'stream', why: p === '-' ? 'standard input' : 'given as a capture' });
    }
  }
  for (const c of opts.conntrack) {
    conntrackFiles.push(c);
    inputs.push({ file: c, kind: 'conntrack', format: 'conntrack', why: 'given with --conntrack' });
  }
  let inventory: Inventory | undefined;
  if (inventoryFile !== undefined) {
    inventory = await loadInventory(inventoryFile, opts.stdin ? { stdin: opts.stdin } : {});
    if (opts.nodes !== undefined) inputs.push({ file: opts.nodes, kind: 'inventory', format: inventory.source.format, why: `given with --nodes; ${inventory.source.why}` });
  }
  if (!captures.length && !conntrackFiles.length) throw badUsage('nothing to analyze: give captures, a case folder, or --conntrack files');

  const warnings: Warning[] = [...(inventory?.warnings ?? [])];
  const ct = conntrackFiles.length ? await loadConntrack([...new Set(conntrackFiles)], opts.at, opts.signal) : undefined;
  if (ct) {
    warnings.push(...ct.warnings);
    for (const f of ct.files) {
      const i = inputs.find((x) => x.file === f.file);
      if (i) i.why += `; ${f.entries} ${f.events ? 'events' : 'entries'}${f.snapshot ? `, ${f.events ? 'last at' : 'snapshot at'} ${f.snapshot} (${f.snapshotSource})` : ''}`;
    }
  }

  const anomalies = new Anomalies();
  // Read, decode and dissect on a second thread when the run can be split (sip/threaded.ts).
  const split = captures.length && canSplit({ files: captures }) ? newHandoffBuffer() : undefined;
  const analyzer = new LbAnalyzer({
    anomalies,
    sipPorts: opts.sipPorts,
    timerBNs: opts.timerBNs,
    forwardWindowNs: opts.forwardWindowNs,
    ...(opts.since ? { since: opts.since.sec + opts.since.nsec * 1e-9 } : {}),
    ...(opts.until ? { until: opts.until.sec + opts.until.nsec * 1e-9 } : {}),
    ...(opts.callIds.length ? { callIds: new Set(opts.callIds) } : {}),
    // An all-answered flow idle for longer than the tracker remembers it cannot be pinned.
    limits: { idleS: opts.udpTimeoutS + opts.timerBNs / 1e9 },
    ...(opts.onInvite ? { onInvite: opts.onInvite } : {}),
    ...(split ? { slots: handoffSlots(split, 1), heardElsewhere: true } : {}),
  });
  let error: StalepinError | undefined;
  if (captures.length) {
    const run: SplitRunResult = split
      ? await runSplit(
          split,
          { files: captures, sipPorts: opts.sipPorts, analyze: { maxHeard: analyzer.flows.maxHeard } },
          { anomalies, ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) },
          {
            dissector: analyzer.dissector,
            tick: (sec, nsec) => analyzer.tick(sec, nsec),
            icmp: (pkt) => analyzer.icmp(pkt),
            ignored: (sec, nsec) => analyzer.ignored(sec, nsec),
          },
        )
      : await runPackets(
          {
            files: captures,
            ...(opts.stdin ? { stdin: opts.stdin } : {}),
            ...(opts.signal ? { signal: opts.signal } : {}),
            ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
            tcp: analyzer.dissector.tcp,
            anomalies,
          },
          (pkt) => analyzer.packet(pkt),
        );
    if (run.span) analyzer.addPackets(run.span);
    if (run.heard) analyzer.flows.adoptHeard(run.heard);
    analyzer.finish();
    warnings.push(...run.warnings);
    error = run.error;
  }

  // Reading is over: let the report reuse the space of what reading left behind (core/collect.ts).
  collectGarbage();
  // Flow objects are made for the flows the rules examine (those that lost INVITEs) and the ones
  // the report lists, not for every flow held: where the INVITEs of the rest went is read off the
  // table (routes()), and the flows listed are chosen by their records.
  const table = analyzer.flows;
  const held = table.held();
  const routes = table.routes();
  const made = new Array<Flow | undefined>(held.length);
  const flowAt = (i: number): Flow => (made[i] ??= held[i]!.toFlow());
  const lossy: Flow[] = [];
  for (let i = 0; i < held.length; i++) if (held[i]!.lostAny()) lossy.push(flowAt(i));
  const listed = listedFlows(held, MAX_FLOWS_LISTED).map(flowAt);
  table.release();
  const result = evaluate(lossy, table, {
    ...defaultRuleOptions,
    udpTimeoutS: opts.udpTimeoutS,
    vips: opts.vips.map((v) => normalizeVip(v)),
    ...(inventory ? { inventory } : {}),
    conntrack: ct?.facts ?? [],
    captureLabel: captures.length === 1 ? captures[0]! : `${captures.length} captures`,
    end: analyzer.last,
  }, routes);
  if (table.droppedFlows) anomalies.add('flow_table_full', undefined, table.droppedFlows);
  if (table.droppedLost) anomalies.add('lost_invite_records_dropped', undefined, table.droppedLost);
  if (table.droppedHeard) anomalies.add('heard_table_full', undefined, table.droppedHeard);
  if (result.unlistedUnanswered.tuples)
    anomalies.add('unanswered_invites_not_listed', `${result.unlistedUnanswered.tuples} more client tuples with ${result.unlistedUnanswered.invites} unanswered INVITEs`, result.unlistedUnanswered.tuples);
  if (listed.length < held.length) anomalies.add('flows_not_listed', `${held.length - listed.length} flows counted in summary.flows but not listed`, held.length - listed.length);

  return {
    schema: REPORT_SCHEMA,
    generator: GENERATOR,
    inputs,
    window: { since: opts.since ? isoOf({ ...opts.since, precision: 9 }) : null, until: opts.until ? isoOf({ ...opts.until, precision: 9 }) : null, callIds: opts.callIds },
    summary: {
      packets: analyzer.counts.packets,
      sipMessages: analyzer.counts.sipMessages,
      inviteTransactions: analyzer.counts.inviteTransactions,
      unansweredInvites: analyzer.counts.unansweredInvites,
      flows: held.length + table.flowsRetired,
      flowsRetired: table.flowsRetired,
      services: result.services,
      first: isoOf(analyzer.first),
      last: isoOf(analyzer.last),
      findings: countBySeverity(result.findings),
    },
    targets: result.targets,
    findings: result.findings,
    flows: reportFlows(listed),
    anomalies: anomalies.list(),
    warnings,
    ...(error ? { error: error.oneLine() } : {}),
  };
}
