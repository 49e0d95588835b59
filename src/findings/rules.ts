/**
 * From observations to findings. Pure: flows, backend activity, the inventory and conntrack
 * facts in; targets and findings out, sorted for stable output.
 *
 * A backend's state comes from the inventory when it lists it, else it is inferred:
 * unresponsive since it last sent anything when at least two INVITEs forwarded to it after
 * that went unanswered, or since the first ICMP destination-unreachable about it.
 *
 * A UDP flow is pinned when its INVITEs went (egress copy, or a capture of the backend itself),
 * or by the tracker's state would go (conntrack entry; or, without any balancer-side state, the
 * last target it was seen forwarded to while the flow stayed inside the tracker's idle timeout),
 * to a backend that is terminated or unresponsive.
 */
import { parseEndpoint } from '../core/address.js';
import { formatIso } from '../core/time.js';
import { findNode, type Inventory } from '../inventory/model.js';
import { routesOf, type FlowRoutes, type FlowTable, type HostUse } from '../observe/flows.js';
import type { BackendActivity, Flow, InviteRecord, Stamp } from '../observe/types.js';
import { isoOf, tOf } from '../observe/types.js';
import type { ConntrackFact } from './facts.js';
import { pinnedRemedy, unansweredRemedy, unresponsiveRemedy } from './remedy.js';
import type { Evidence, Finding, Severity, Target, TargetState } from './types.js';

export interface RuleOptions {
  /** Tracker idle timeout for UDP in seconds (default 120; the kernel SIP helper uses 3600). */
  udpTimeoutS: number;
  /** Service addresses given by the user (--vip): "ip:port" or "ip". */
  vips: string[];
  inventory?: Inventory;
  conntrack: ConntrackFact[];
  /** The captures, for evidence lines. */
  captureLabel: string;
  /** End of the capture: INVITEs first seen less than this long before it are not yet "unanswered". */
  end: Stamp | undefined;
  graceS: number;
  /** Call-IDs kept per finding (the rest counted in callIdsOmitted). */
  maxCallIds: number;
  /**
   * unanswered-invites findings listed at most, the tuples with most lost calls first (a scan or
   * flood makes one per source tuple); the rest are counted in RuleResult.unlistedUnanswered.
   */
  maxUnansweredFindings: number;
}

export const defaultRuleOptions: RuleOptions = {
  udpTimeoutS: 120,
  vips: [],
  conntrack: [],
  captureLabel: 'capture',
  end: undefined,
  graceS: 1,
  maxCallIds: 10_000,
  maxUnansweredFindings: 1_000,
};

interface TargetInfo {
  target: Target;
  sinceT: number;
  evidence: Evidence[];
  inventoryActive: boolean;
  inferredUnresponsive: boolean;
}

const ipOf = (ep: string): string => parseEndpoint(ep)?.ip ?? ep;
const portOf = (ep: string): number | undefined => parseEndpoint(ep)?.port;

function matchAddress(list: Set<string>, ep: string): boolean {
  return list.has(ep) || list.has(ipOf(ep));
}

export interface RuleResult {
  services: string[];
  targets: Target[];
  findings: Finding[];
  /** unanswered-invites findings beyond maxUnansweredFindings: tuples and lost INVITEs not listed. */
  unlistedUnanswered: { tuples: number; invites: number };
}

/**
 * `flows` are every flow held, or at least every one that lost INVITEs when `routes` says
 * where the INVITEs of all of them went (analyze makes Flow objects for those it examines or
 * lists only, see FlowTable.held()).
 */
export function evaluate(flows: Flow[], table: Pick<FlowTable, 'activity' | 'byDst' | 'hosts'>, opts: RuleOptions, routes: FlowRoutes = routesOf(flows)): RuleResult {
  const inv = opts.inventory;
  const endT = opts.end ? tOf(opts.end) : Infinity;

  // 1. Service addresses: given, from the inventory, from DNAT entries, and inferred from
  // forwarding (an address whose INVITEs reappear towards another address).
  const services = new Set<string>();
  for (const v of opts.vips) services.add(v);
  for (const s of inv?.services ?? []) services.add(s.port !== undefined ? fmt(s.address, s.port) : s.address);
  for (const c of opts.conntrack) if (c.target !== c.service) services.add(c.service);
  for (const d of routes.forwarded) services.add(d);
  // 2. Backend addresses: forwarding targets, inventory nodes, conntrack reply sources.
  const backendSet = new Set<string>(routes.targets);
  for (const c of opts.conntrack) if (c.target !== c.service) backendSet.add(c.target);
  for (const n of inv?.nodes ?? []) if (n.port !== undefined) backendSet.add(fmt(n.address, n.port));
  // A capture taken beside a backend shows clients sending to it directly.
  for (const d of routes.dsts) if (!matchAddress(services, d) && isKnownBackend(d, backendSet, inv)) backendSet.add(d);

  const directTarget = (f: Flow): string | undefined => (!matchAddress(services, f.dst) && backendSet.has(f.dst) ? f.dst : undefined);
  // What follows looks at lost INVITEs only: the flows that lost some (a few hundred at a busy
  // balancer), in the same order.
  const lossy = flows.filter((f) => f.lost.length > 0);

  // Conntrack facts per flow tuple: the latest one wins (a DESTROY event means the entry is gone).
  const facts = latestFacts(opts.conntrack);

  // 3. Where each unanswered INVITE went: seen leaving (egress copy), captured at the backend
  // itself (direct), by the tracker's entry (conntrack), or by the flow's last seen mapping.
  const attr = attribute(lossy, facts, directTarget, opts.udpTimeoutS);
  const lostTo = (_f: Flow, r: InviteRecord): string | undefined => attr.get(r)?.target;

  // 4. Target states.
  const infos = new Map<string, TargetInfo>();
  for (const b of [...backendSet].sort()) infos.set(b, targetInfo(b, table.activity(b), table.byDst.get(b)?.invites ?? 0, lossy, lostTo, inv, opts));

  const findings: Finding[] = [];
  const covered = new Set<string>(); // "client|target" already explained by a pinned-flow finding
  const attributed = new Set<InviteRecord>();

  // 5. Pinned flows (UDP only: a TCP connection to a dead backend fails over by reconnecting).
  for (const f of lossy) {
    if (f.transport !== 'udp') continue;
    const service = matchAddress(services, f.dst) ? f.dst : null;
    const fact = facts.get(`udp|${f.client}|${f.dst}`);
    for (const [addr, info] of infos) {
      const st = info.target.state;
      if (st !== 'terminated' && st !== 'unresponsive') continue;
      if (info.inventoryActive) continue; // the balancer still counts it as active: target-unresponsive says it
      const affected = f.lost.filter((r) => attr.get(r)?.target === addr && r.t >= info.sinceT - 1e-6 && counts(r, endT, opts.graceS));
      if (!affected.length) continue;
      const evidence: Evidence[] = [];
      const by = (how: How): InviteRecord[] => affected.filter((r) => attr.get(r)!.how === how);
      const egress = by('egress');
      if (egress.length)
        evidence.push({
          source: 'egress-copy',
          detail: `${egress.length} INVITE transaction(s) from ${f.client}${service ? ` to ${service}` : ''} were seen forwarded to ${addr} after it became ${st}, none answered`,
          file: opts.captureLabel,
          at: isoOf(egress[0]!.at) ?? undefined,
        });
      const direct = by('direct');
      if (direct.length)
        evidence.push({
          source: 'egress-copy',
          detail: `${direct.length} INVITE transaction(s) from ${f.client} were captured arriving at ${addr} itself and got no response`,
          file: opts.captureLabel,
          at: isoOf(direct[0]!.at) ?? undefined,
        });
      if (fact && fact.target === addr && fact.event !== 'destroy') {
        const n = by('conntrack').length;
        evidence.push({
          source: fact.source,
          detail:
            `${fact.source === 'conntrack' ? 'conntrack entry' : `conntrack ${fact.event.toUpperCase()} event`} udp ${fact.client} -> ${fact.service} replies from ${fact.target}` +
            `${fact.assured ? ' [ASSURED]' : ''}${fact.timeout >= 0 ? `, timeout ${fact.timeout} s` : ''}${fact.start ? `, created ${isoOf(fact.start)}${tOf(fact.start) < info.sinceT ? `, before ${addr} became ${st}: the tracker kept the old mapping` : ''}` : ''}` +
            (n ? `; ${n} INVITE transaction(s) with no forwarded copy in the capture went by it` : ''),
          file: `${fact.file} line ${fact.line}`,
          ...(fact.at ? { at: isoOf(fact.at)! } : {}),
        });
      }
      const lkm = by('last-known');
      if (lkm.length && f.lastForwarded)
        evidence.push({
          source: 'last-known-mapping',
          detail: `last seen forwarded to ${addr} at ${isoOf(f.lastForwarded.at)}; its next ${lkm.length} INVITE transaction(s) came within the ${opts.udpTimeoutS} s UDP tracker timeout of each other, so the mapping was still in place, and none was answered`,
          file: opts.captureLabel,
        });
      for (const r of affected) attributed.add(r);
      evidence.push(...info.evidence);
      const signature = otherFlowsMoved(f, table.hosts, addr);
      if (signature) evidence.push(signature);
      covered.add(`${f.client}|${addr}`);
      findings.push(
        finding('pinned-flow', 'critical', f, service, addr, st, affected, evidence, pinnedRemedy('udp', f.client, service, addr, opts.conntrack.length > 0, fact?.zone ?? 0), opts.maxCallIds),
      );
    }
  }

  // 6. Stale tracker entries: pointing at a backend that is not active, no affected call seen.
  // Only the newest table counts: an entry missing from it is gone, whatever older dumps said.
  let newestTable = -Infinity;
  for (const c of opts.conntrack) if (c.source === 'conntrack' && c.at) newestTable = Math.max(newestTable, tOf(c.at));
  for (const fact of facts.values()) {
    if (fact.event === 'destroy' || fact.proto !== 'udp') continue;
    if (fact.source === 'conntrack' && fact.at && tOf(fact.at) < newestTable - 1) continue;
    const info = infos.get(fact.target);
    if (!info || covered.has(`${fact.client}|${fact.target}`)) continue;
    const st = info.target.state;
    if (st === 'active' || st === 'unknown') continue;
    // A snapshot from before the backend died shows a mapping that was right at the time.
    if (fact.at && tOf(fact.at) < info.sinceT) continue;
    const severity: Severity = st === 'draining' ? 'info' : 'warning';
    const evidence: Evidence[] = [
      {
        source: fact.source,
        detail: `udp ${fact.client} -> ${fact.service} replies from ${fact.target}${fact.assured ? ' [ASSURED]' : ''}${fact.unreplied ? ' [UNREPLIED]' : ''}${fact.timeout >= 0 ? `, timeout ${fact.timeout} s` : ''}${fact.start ? `, created ${isoOf(fact.start)}` : ''}`,
        file: `${fact.file} line ${fact.line}`,
        ...(fact.at ? { at: isoOf(fact.at)! } : {}),
      },
      ...info.evidence,
    ];
    findings.push({
      kind: 'stale-conntrack-entry',
      severity,
      transport: 'udp',
      client: fact.client,
      service: fact.service,
      target: fact.target,
      targetState: st,
      since: fact.start ? isoOf(fact.start) : info.target.since,
      until: fact.at ? isoOf(fact.at) : null,
      callIds: [],
      evidence,
      remedy: pinnedRemedy('udp', fact.client, fact.service, fact.target, true, fact.zone),
      summary: `tracker entry ${fact.client} -> ${fact.service} still points at ${st} ${fact.target}`,
    });
  }

  // 7. Backends that stopped answering while still receiving.
  for (const [addr, info] of infos) {
    if (!info.inferredUnresponsive) continue;
    const lost: InviteRecord[] = [];
    for (const f of lossy) for (const r of f.lost) if (lostTo(f, r) === addr && r.t >= info.sinceT - 1e-6 && counts(r, endT, opts.graceS)) lost.push(r);
    if (!lost.length) continue;
    lost.sort((a, b) => a.t - b.t);
    const severity: Severity = info.inventoryActive ? 'critical' : 'warning';
    findings.push({
      kind: 'target-unresponsive',
      severity,
      transport: 'udp',
      client: '*',
      service: null,
      target: addr,
      targetState: info.inventoryActive ? 'active' : 'unresponsive',
      since: info.target.since,
      until: isoOf(lost[lost.length - 1]!.at),
      ...callIdList(lost, opts.maxCallIds),
      evidence: info.evidence.length ? info.evidence : [{ source: 'no-response', detail: `${lost.length} INVITE transaction(s) forwarded to ${addr} got no response` }],
      remedy: unresponsiveRemedy(addr),
      summary: `${addr} stopped answering at ${info.target.since ?? '?'} but still received ${lost.length} INVITE transaction(s)${info.inventoryActive ? ' while the inventory lists it as active' : ''}`,
    });
  }

  // 8. Unanswered INVITEs whose target cannot be determined, grouped per client tuple; the
  // tuples that lost most are listed, the rest counted.
  const unexplained: { f: Flow; rest: InviteRecord[] }[] = [];
  for (const f of lossy) {
    const rest = f.lost.filter((r) => !attributed.has(r) && lostTo(f, r) === undefined && counts(r, endT, opts.graceS));
    if (rest.length) unexplained.push({ f, rest });
  }
  const unlistedUnanswered = { tuples: 0, invites: 0 };
  if (unexplained.length > opts.maxUnansweredFindings) {
    unexplained.sort((a, b) => b.rest.length - a.rest.length || b.f.calls - a.f.calls);
    for (const u of unexplained.splice(opts.maxUnansweredFindings)) {
      unlistedUnanswered.tuples++;
      unlistedUnanswered.invites += u.rest.length;
    }
  }
  for (const { f, rest } of unexplained) {
    const service = matchAddress(services, f.dst) ? f.dst : null;
    const sent = rest.reduce((n, r) => n + r.sent, 0);
    const evidence: Evidence[] = [
      {
        source: 'no-response',
        detail: `${rest.length} INVITE transaction(s) from ${f.client} to ${f.dst} got no response (${sent} copies sent, retransmissions included); no forwarded copy, backend response or tracker entry shows where they went`,
        file: opts.captureLabel,
        at: isoOf(rest[0]!.at) ?? undefined,
      },
    ];
    if (f.calls > 1) evidence.push({ source: 'no-response', detail: `the tuple ${f.client} carried ${f.calls} different calls: the fixed-source-port pattern that keeps a tracker entry alive` });
    findings.push({
      ...finding('unanswered-invites', 'warning', f, service, null, 'unknown', rest, evidence, unansweredRemedy(f.client, service), opts.maxCallIds),
      retransmissions: sent - rest.length,
      tupleReused: f.calls > 1,
    });
  }

  findings.sort(compareFindings);
  return { services: [...services].sort(), targets: [...infos.values()].map((i) => i.target), findings, unlistedUnanswered };
}

function fmt(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function isKnownBackend(ep: string, set: Set<string>, inv: Inventory | undefined): boolean {
  if (set.has(ep)) return true;
  return inv !== undefined && findNode(inv, ipOf(ep), portOf(ep)) !== undefined;
}

/** An INVITE counts as lost when timer B ran out, or the capture ended well after it. */
function counts(r: InviteRecord, endT: number, graceS: number): boolean {
  return r.timedOut || r.t <= endT - graceS;
}

type How = 'egress' | 'direct' | 'conntrack' | 'last-known';

function attribute(
  flows: Flow[],
  facts: Map<string, ConntrackFact>,
  directTarget: (f: Flow) => string | undefined,
  udpTimeoutS: number,
): Map<InviteRecord, { target: string; how: How }> {
  const out = new Map<InviteRecord, { target: string; how: How }>();
  for (const f of flows) {
    const direct = directTarget(f);
    const fact = f.transport === 'udp' ? facts.get(`udp|${f.client}|${f.dst}`) : undefined;
    const live = fact && fact.event !== 'destroy' && fact.target !== fact.service ? fact : undefined;
    const unseen: InviteRecord[] = [];
    for (const r of f.lost) {
      if (r.target !== undefined) out.set(r, { target: r.target, how: 'egress' });
      else if (direct !== undefined) out.set(r, { target: direct, how: 'direct' });
      else if (live) out.set(r, { target: live.target, how: 'conntrack' });
      else unseen.push(r);
    }
    // No balancer-side state at all: presume the mapping held while the flow kept it alive.
    if (unseen.length && f.transport === 'udp' && !fact && f.lastForwarded) {
      for (const r of withinTimeout(f.lastForwarded.t, unseen, udpTimeoutS)) out.set(r, { target: f.lastForwarded.target, how: 'last-known' });
    }
  }
  return out;
}

function withinTimeout(fromT: number, lost: InviteRecord[], timeoutS: number): InviteRecord[] {
  const out: InviteRecord[] = [];
  let prev = fromT;
  for (const r of [...lost].sort((a, b) => a.t - b.t)) {
    if (r.t < prev) continue;
    if (r.t - prev > timeoutS) break;
    out.push(r);
    prev = r.t;
  }
  return out;
}

function latestFacts(facts: ConntrackFact[]): Map<string, ConntrackFact> {
  const out = new Map<string, ConntrackFact>();
  for (const f of facts) {
    const k = `${f.proto}|${f.client}|${f.service}`;
    const prev = out.get(k);
    if (!prev || !prev.at) {
      if (!prev || f.at || (f.start && !prev.start)) out.set(k, f);
      continue;
    }
    if (!f.at) continue;
    const d = tOf(f.at) - tOf(prev.at);
    // Several forms of one snapshot share a time: keep the one that says when the entry was made.
    if (d > 0 || (d === 0 && f.start !== undefined && prev.start === undefined)) out.set(k, f);
  }
  return out;
}

function targetInfo(
  addr: string,
  b: BackendActivity | undefined,
  sentTo: number,
  flows: Flow[],
  lostTo: (f: Flow, r: InviteRecord) => string | undefined,
  inv: Inventory | undefined,
  opts: RuleOptions,
): TargetInfo {
  const evidence: Evidence[] = [];
  // Forwarded to it, or (a capture beside the backend) sent to it directly.
  const invites = b?.invites || sentTo;
  let unanswered = 0;
  // Inference from the capture.
  let inferred: { since: Stamp; sinceT: number } | undefined;
  const heardT = b?.lastHeard ? tOf(b.lastHeard) : -Infinity;
  const after: InviteRecord[] = [];
  for (const f of flows) for (const r of f.lost) if (lostTo(f, r) === addr) {
    unanswered++;
    if (r.t > heardT) after.push(r);
  }
  after.sort((x, y) => x.t - y.t);
  if (after.length >= 2) {
    const since = b?.lastHeard ?? after[0]!.at;
    inferred = { since, sinceT: tOf(since) };
    evidence.push({
      source: 'no-response',
      detail: b?.lastHeard
        ? `${addr} sent nothing after ${isoOf(b.lastHeard)}, while ${after.length} INVITE transaction(s) forwarded to it later got no response`
        : `${addr} was never heard, and ${after.length} INVITE transaction(s) forwarded to it got no response`,
      file: opts.captureLabel,
    });
  }
  if (b?.icmp) {
    const what = b.icmp.type === 3 || b.icmp.type === 1 ? (b.icmp.code === 3 || b.icmp.code === 4 ? 'port unreachable' : 'destination unreachable') : 'unreachable';
    evidence.push({
      source: 'icmp-unreachable',
      detail: `${b.icmp.count} ICMP ${what} (type ${b.icmp.type} code ${b.icmp.code}) from ${b.icmp.from} about ${addr}, first at ${isoOf(b.icmp.first)}`,
      file: opts.captureLabel,
      at: isoOf(b.icmp.first)!,
    });
    // The first error answers a packet forwarded just before it: an INVITE that went unanswered
    // since the backend was last heard, and before the error, was lost to it as well (watch
    // sees the first such INVITE long before a second one exists).
    const t = tOf(b.icmp.first);
    const first = after.length && after[0]!.t < t ? (b.lastHeard ?? after[0]!.at) : b.icmp.first;
    const ft = tOf(first);
    if (!inferred || ft < inferred.sinceT) inferred = { since: first, sinceT: ft };
  }
  const node = inv ? findNode(inv, ipOf(addr), portOf(addr)) : undefined;
  const lastHeard = isoOf(b?.lastHeard);
  if (node) {
    const since = node.since ? formatIso(node.since.sec, node.since.nsec, 9) : null;
    if (node.state !== 'active') {
      evidence.unshift({ source: 'inventory', detail: `the inventory (${inv!.source.file}) lists ${addr}${node.name ? ` (${node.name})` : ''} as ${node.state}${since ? ` since ${since}` : ''}`, file: inv!.source.file });
    }
    return {
      target: { address: addr, state: node.state, stateSource: 'inventory', since, ...(node.name ? { name: node.name } : {}), invites, unanswered, lastHeard },
      sinceT: node.since ? node.since.sec + node.since.nsec * 1e-9 : -Infinity,
      evidence,
      inventoryActive: node.state === 'active' && inferred !== undefined,
      inferredUnresponsive: inferred !== undefined && node.state === 'active',
    };
  }
  let state: TargetState = 'unknown';
  let since: string | null = null;
  let sinceT = -Infinity;
  if (inferred) {
    state = 'unresponsive';
    since = isoOf(inferred.since);
    sinceT = inferred.sinceT;
  } else if (b?.lastHeard) {
    state = 'active';
    since = isoOf(b.firstHeard);
  }
  return { target: { address: addr, state, stateSource: 'inferred', since, invites, unanswered, lastHeard }, sinceT, evidence, inventoryActive: false, inferredUnresponsive: inferred !== undefined };
}

/** The incident signature: the same client host's other flows (other ports, TCP) went elsewhere. */
function otherFlowsMoved(f: Flow, hosts: Map<string, Map<string, HostUse>>, dead: string): Evidence | undefined {
  const uses = hosts.get(f.clientIp);
  if (!uses) return undefined;
  const parts: string[] = [];
  for (const [target, u] of uses) {
    if (target === dead || u.lastT < tOf(f.first)) continue;
    // Leave out the pinned flow's own answered INVITEs to that backend.
    const own = f.targets.find((u) => u.target === target)?.answered ?? 0;
    const udp = u.udp - (f.transport === 'udp' ? own : 0);
    const tcp = u.tcp - (f.transport === 'tcp' ? own : 0);
    const what = [udp > 0 ? `${udp} answered INVITE(s) over UDP from other ports` : '', tcp > 0 ? `${tcp} over TCP` : ''].filter(Boolean).join(' and ');
    if (what) parts.push(`${what} to ${target}`);
  }
  if (!parts.length) return undefined;
  return { source: 'egress-copy', detail: `meanwhile the same client ${f.clientIp} reached a live backend: ${parts.join('; ')}` };
}

function callIdList(lost: InviteRecord[], max: number): { callIds: string[]; callIdsOmitted?: number } {
  const ids = [...new Set(lost.map((r) => r.callId))];
  return ids.length > max ? { callIds: ids.slice(0, max), callIdsOmitted: ids.length - max } : { callIds: ids };
}

function finding(
  kind: Finding['kind'],
  severity: Severity,
  f: Flow,
  service: string | null,
  target: string | null,
  targetState: TargetState,
  lost: InviteRecord[],
  evidence: Evidence[],
  remedy: string,
  maxCallIds: number,
): Finding {
  const sent = lost.reduce((n, r) => n + r.sent, 0);
  const ids = callIdList(lost, maxCallIds);
  const omitted = (ids.callIdsOmitted ?? 0) + f.lostOmitted;
  return {
    kind,
    severity,
    transport: f.transport,
    client: f.client,
    service,
    target,
    targetState,
    since: isoOf(lost[0]?.at),
    until: isoOf(lost[lost.length - 1]?.at),
    callIds: ids.callIds,
    ...(omitted ? { callIdsOmitted: omitted } : {}),
    retransmissions: sent - lost.length,
    tupleReused: f.calls > 1,
    evidence,
    remedy,
    summary:
      kind === 'pinned-flow'
        ? `${f.transport} ${f.client} -> ${service ?? f.dst} is pinned to ${targetState} ${target}: ${ids.callIds.length + (ids.callIdsOmitted ?? 0)} call(s) lost`
        : `${f.client} -> ${service ?? f.dst}: ${ids.callIds.length + (ids.callIdsOmitted ?? 0)} call(s) got no response, target unknown`,
  };
}

const KIND_ORDER = { 'pinned-flow': 0, 'stale-conntrack-entry': 1, 'target-unresponsive': 2, 'unanswered-invites': 3 } as const;
const SEV_ORDER = { critical: 0, warning: 1, info: 2 } as const;

function compareFindings(a: Finding, b: Finding): number {
  return SEV_ORDER[a.severity] - SEV_ORDER[b.severity] || KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || (a.client < b.client ? -1 : a.client > b.client ? 1 : 0) || ((a.target ?? '') < (b.target ?? '') ? -1 : 1);
}
