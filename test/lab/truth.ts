/**
 * truth.json: what a lab run really did, derived from its evidence (sipp's message logs and the
 * conntrack table after the failover), never from what the run meant to do. Later analysis
 * tests compare stalepin's findings with it.
 */
import { formatEndpoint } from '../../src/core/address.js';
import { formatIso } from '../../src/core/time.js';
import { type CtEntry, parseConntrackText, parseSippMessages, type SippMessage } from './parse.js';

export const TRUTH_SCHEMA = 'stalepin/lab-truth@1';

export interface TruthFlow {
  transport: 'udp' | 'tcp';
  client: string;
  service: string;
  target: string;
  conntrackId: number | null;
}

export interface TruthCall {
  callId: string;
  method: string;
  transport: 'udp' | 'tcp';
  /** Client ip:port from the top Via (sipp binds every socket it sends from to the port it names there). */
  client: string;
  firstSentAt: string;
  afterFailover: boolean;
  /** Times the initial request was sent (1 + retransmissions). */
  sent: number;
  responses: number[];
  final: number | null;
  /** Backend the flow's conntrack entry maps to after the failover, when the entry still exists. */
  target: string | null;
  sippLog: string;
}

export interface Truth {
  schema: typeof TRUTH_SCHEMA;
  variant: string;
  termination: string;
  family: 'ipv4' | 'ipv6';
  vip: string;
  service: string;
  clientAddress: string;
  fixedPort: number;
  deadBackend: string;
  liveBackend: string;
  /** The DNAT target was swapped to the live backend at this time. */
  failoverAt: string;
  /** The dead backend was terminated (killed, link down, namespace gone) at this time. */
  terminatedAt: string;
  /** UDP flows whose INVITEs after the failover were forwarded to the dead backend. */
  pinned: (TruthFlow & {
    lostCallIds: string[];
    invitesAfterFailover: number;
    retransmissions: number;
    /** The same entry (same conntrack id) was already in the table before the failover. */
    entryFromBeforeFailover: boolean;
  })[];
  /** Every INVITE that got no response at all. */
  lostCallIds: string[];
  /** Conntrack entries (UDP) that still map to the dead backend with no traffic after the failover. */
  staleEntries: TruthFlow[];
  /** Flows a correct analysis must not report: moved to the live backend, or TCP. */
  mustNotFlag: (TruthFlow & { reason: string })[];
  calls: TruthCall[];
  /** Deviations from the incident the lab means to reproduce (empty when it reproduced). */
  problems: string[];
  derivedFrom: string[];
  /** Kernel and tool versions, namespaces and capture, for the fixtures README. */
  recordedWith?: Record<string, string>;
}

export interface TruthInput {
  variant: string;
  termination: string;
  family: 4 | 6;
  vip: string;
  sipPort: number;
  clientAddress: string;
  fixedPort: number;
  deadBackend: string; // address only
  liveBackend: string;
  failoverAtNs: bigint;
  terminatedAtNs: bigint;
  /** UAC message logs: name relative to the case folder, and content. */
  sippLogs: { name: string; text: string }[];
  /** `conntrack -L -o extended,id` after the failover, and its file name. */
  conntrackAfter: { name: string; text: string };
  /** The same form before the failover. */
  conntrackBefore: { name: string; text: string };
}

export function isoNs(ns: bigint): string {
  return formatIso(Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n), 9);
}

export function deriveTruth(inp: TruthInput): Truth {
  const service = formatEndpoint(inp.vip, inp.sipPort);
  const dead = formatEndpoint(inp.deadBackend, inp.sipPort);
  const live = formatEndpoint(inp.liveBackend, inp.sipPort);
  const entries = parseConntrackText(inp.conntrackAfter.text).filter(
    (e) => (e.proto === 'udp' || e.proto === 'tcp') && e.orig.dst === inp.vip && e.orig.dport === inp.sipPort,
  );
  const entryFor = (proto: string, client: string): CtEntry | undefined =>
    entries.find((e) => e.proto === proto && formatEndpoint(e.orig.src, e.orig.sport) === client);
  const beforeIds = new Set(parseConntrackText(inp.conntrackBefore.text).map((e) => e.id));
  const targetOf = (e: CtEntry): string => formatEndpoint(e.reply.src, e.reply.sport);

  const calls: TruthCall[] = [];
  for (const log of inp.sippLogs) {
    const byCall = new Map<string, SippMessage[]>();
    for (const m of parseSippMessages(log.text)) {
      const list = byCall.get(m.callId);
      if (list) list.push(m);
      else byCall.set(m.callId, [m]);
    }
    for (const [callId, msgs] of byCall) {
      const first = msgs.find((m) => m.dir === 'sent' && m.status === undefined);
      if (!first) continue;
      const initial = msgs.filter((m) => m.dir === 'sent' && m.status === undefined && m.cseq === first.cseq);
      const responses = msgs
        .filter((m) => m.dir === 'received' && m.status !== undefined && m.cseq === first.cseq)
        .map((m) => m.status!);
      const transport = first.transport === 'TCP' ? 'tcp' : 'udp';
      const client = formatEndpoint(first.viaHost, first.viaPort ?? 0);
      const e = entryFor(transport, client);
      calls.push({
        callId,
        method: first.method,
        transport,
        client,
        firstSentAt: isoNs(first.timeNs),
        afterFailover: first.timeNs >= inp.failoverAtNs,
        sent: initial.length,
        responses,
        final: responses.find((s) => s >= 200) ?? null,
        target: e ? targetOf(e) : null,
        sippLog: log.name,
      });
    }
  }
  calls.sort((a, b) => (a.firstSentAt < b.firstSentAt ? -1 : a.firstSentAt > b.firstSentAt ? 1 : 0));

  const flow = (e: CtEntry): TruthFlow => ({
    transport: e.proto as 'udp' | 'tcp',
    client: formatEndpoint(e.orig.src, e.orig.sport),
    service,
    target: targetOf(e),
    conntrackId: e.id ?? null,
  });

  const pinned: Truth['pinned'] = [];
  const mustNotFlag: Truth['mustNotFlag'] = [];
  const afterUdpClients = new Set(calls.filter((c) => c.afterFailover && c.transport === 'udp').map((c) => c.client));
  for (const client of afterUdpClients) {
    const e = entryFor('udp', client);
    if (!e) continue;
    const mine = calls.filter((c) => c.client === client && c.transport === 'udp' && c.afterFailover);
    const invites = mine.filter((c) => c.method === 'INVITE');
    if (targetOf(e) === dead && invites.length > 0) {
      pinned.push({
        ...flow(e),
        lostCallIds: invites.filter((c) => c.responses.length === 0).map((c) => c.callId),
        invitesAfterFailover: invites.length,
        retransmissions: invites.reduce((n, c) => n + c.sent - 1, 0),
        entryFromBeforeFailover: e.id !== undefined && beforeIds.has(e.id),
      });
    } else if (targetOf(e) === live) {
      const kind = mine.some((c) => c.method === 'INVITE') ? 'calls' : 'health checks (OPTIONS)';
      mustNotFlag.push({ ...flow(e), reason: `fresh source port after the failover (${kind}): mapped to the live backend` });
    }
  }
  const pinnedKeys = new Set(pinned.map((p) => p.client));
  const staleEntries = entries
    .filter((e) => e.proto === 'udp' && targetOf(e) === dead && !pinnedKeys.has(formatEndpoint(e.orig.src, e.orig.sport)))
    .map(flow);
  for (const e of entries.filter((x) => x.proto === 'tcp')) {
    mustNotFlag.push({
      ...flow(e),
      reason:
        targetOf(e) === live
          ? 'TCP connection opened after the failover: a new connection gets a new mapping'
          : `TCP connection from before the failover, closed (${e.state || 'no state'})`,
    });
  }

  const lostCallIds = calls.filter((c) => c.method === 'INVITE' && c.responses.length === 0).map((c) => c.callId);

  const problems: string[] = [];
  if (pinned.length !== 1) problems.push(`expected exactly one pinned flow, found ${pinned.length}`);
  const fixedClient = formatEndpoint(inp.clientAddress, inp.fixedPort);
  if (pinned.length >= 1 && pinned[0]!.client !== fixedClient)
    problems.push(`pinned flow is ${pinned[0]!.client}, expected the fixed port ${fixedClient}`);
  for (const c of calls) {
    const pinnedCall = c.afterFailover && pinnedKeys.has(c.client) && c.transport === 'udp';
    if (pinnedCall && c.responses.length > 0) problems.push(`call ${c.callId} on the pinned flow got a response`);
    if (!pinnedCall && c.final !== 200) problems.push(`call ${c.callId} (${c.method}, ${c.client}) did not get 200 OK`);
  }
  if (lostCallIds.length === 0) problems.push('no call was lost');
  for (const p of pinned)
    if (!p.entryFromBeforeFailover) problems.push(`pinned flow ${p.client}: its conntrack entry was not in the table before the failover`);
  if (!mustNotFlag.some((f) => f.transport === 'tcp' && f.target === live)) problems.push('no TCP flow moved to the live backend');
  if (!mustNotFlag.some((f) => f.transport === 'udp')) problems.push('no fresh-port UDP flow moved to the live backend');

  return {
    schema: TRUTH_SCHEMA,
    variant: inp.variant,
    termination: inp.termination,
    family: inp.family === 4 ? 'ipv4' : 'ipv6',
    vip: inp.vip,
    service,
    clientAddress: inp.clientAddress,
    fixedPort: inp.fixedPort,
    deadBackend: dead,
    liveBackend: live,
    failoverAt: isoNs(inp.failoverAtNs),
    terminatedAt: isoNs(inp.terminatedAtNs),
    pinned,
    lostCallIds,
    staleEntries,
    mustNotFlag,
    calls,
    problems,
    derivedFrom: [...inp.sippLogs.map((l) => l.name), inp.conntrackBefore.name, inp.conntrackAfter.name],
  };
}
