/**
 * The audit rule over a stream of conntrack (or IPVS) entries: an entry whose original
 * destination is a service address and whose reply source is not an active backend of that
 * service is stale. The per-entry cost is a protocol test, one service lookup and a nested map
 * walk to the (service, target) row, whose verdict is decided once when the row is created;
 * only the stale entries are copied. Rows grow with service x backend pairs, not with entries.
 */
import { formatEndpoint } from '../core/address.js';
import type { ConntrackEntry } from '../conntrack/entry.js';
import { findNode, isService, nodeEndpoint, type Inventory, type InventoryNode } from '../inventory/index.js';

/** What the backend set says about a row's target. */
export type TargetVerdict = 'active' | 'draining' | 'unknown' | 'terminated' | 'unresponsive' | 'absent';

export type AuditProto = 'udp' | 'tcp';

export interface AuditRow {
  service: string;
  target: string;
  /** The target's address alone (cheap set membership on a second read). */
  targetIp: string;
  protocol: AuditProto;
  verdict: TargetVerdict;
  /** The inventory node the verdict came from (absent: none). */
  node?: InventoryNode;
  /** The service has no active backend: its entries are counted, never judged. */
  unverified: boolean;
  entries: number;
  assured: number;
  unreplied: number;
  /** Entries judged stale (TCP: open connections only). */
  stale: number;
}

/** One stale entry, copied out of the stream with the row it belongs to. */
export interface StaleCandidate {
  entry: ConntrackEntry;
  row: AuditRow;
}

export interface ServiceSet {
  service: string;
  protocol: AuditProto;
  /** Active backends ("ip" or "ip:port"), as the inventory lists them. */
  active: string[];
}

/** TCP states in which a connection is still open: a dead backend there is a stuck connection. */
const TCP_OPEN = new Set(['ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'SYN_SENT2', '']);

export const UDP = 17;
export const TCP = 6;

/** A row is stale-eligible when its backend is gone from the pool or dead. */
export function isDead(v: TargetVerdict): boolean {
  return v === 'terminated' || v === 'unresponsive' || v === 'absent';
}

export interface AuditorOptions {
  inventory: Inventory;
  tcp: boolean;
  /** Stale entries kept for findings; beyond it they are only counted. */
  maxKept: number;
}

type PortMap<T> = Map<number, T>;

const SERVICE_CACHE_MAX = 65536;

export class Auditor {
  /** Entries read, by what became of them. */
  total = 0;
  audited = 0;
  toServices = 0;
  /** Entries to a service address whose reply comes from the service address itself. */
  notForwarded = 0;
  /** TCP entries to a dead backend in a closing state (they expire on their own). */
  tcpClosing = 0;
  /** Stale entries beyond maxKept: counted in rows, not copied. */
  dropped = 0;
  readonly candidates: StaleCandidate[] = [];
  private readonly rowList: AuditRow[] = [];
  // proto -> service ip -> service port -> target ip -> target port -> row
  private readonly rows = new Map<number, Map<string, PortMap<Map<string, PortMap<AuditRow>>>>>();
  private readonly sets = new Map<string, ServiceSet>();
  private readonly svcCache = new Map<number, Map<string, Map<number, boolean>>>();
  private svcCacheSize = 0;

  constructor(private readonly opts: AuditorOptions) {}

  add(e: ConntrackEntry): void {
    this.total++;
    const p = e.protoNum;
    if (p !== UDP && !(p === TCP && this.opts.tcp)) return;
    this.audited++;
    const o = e.orig;
    const proto: AuditProto = p === UDP ? 'udp' : 'tcp';
    if (!this.serviceHit(p, proto, o.dst, o.dport)) return;
    this.toServices++;
    const r = e.reply;
    if (r.src === o.dst && r.sport === o.dport) {
      this.notForwarded++;
      return;
    }
    const row = this.row(p, proto, o.dst, o.dport, r.src, r.sport);
    row.entries++;
    if (e.assured) row.assured++;
    if (e.unreplied) row.unreplied++;
    if (row.unverified || !isDead(row.verdict)) return;
    if (proto === 'tcp' && !TCP_OPEN.has(e.state.toUpperCase())) {
      this.tcpClosing++;
      return;
    }
    row.stale++;
    if (this.candidates.length < this.opts.maxKept) this.candidates.push({ entry: e.clone(), row });
    else this.dropped++;
  }

  /**
   * isService, remembered per (protocol, address, port): a table has few distinct destinations
   * next to its entries. Bounded: cleared when it reaches SERVICE_CACHE_MAX destinations.
   */
  private serviceHit(p: number, proto: AuditProto, ip: string, port: number): boolean {
    let byIp = this.svcCache.get(p);
    if (!byIp) this.svcCache.set(p, (byIp = new Map()));
    let byPort = byIp.get(ip);
    if (!byPort) {
      if (this.svcCacheSize >= SERVICE_CACHE_MAX) {
        byIp.clear();
        this.svcCacheSize = 0;
      }
      byIp.set(ip, (byPort = new Map()));
    }
    let hit = byPort.get(port);
    if (hit === undefined) {
      hit = isService(this.opts.inventory, ip, port, proto);
      byPort.set(port, hit);
      this.svcCacheSize++;
    }
    return hit;
  }

  private row(p: number, proto: AuditProto, sip: string, sport: number, tip: string, tport: number): AuditRow {
    let a = this.rows.get(p);
    if (!a) this.rows.set(p, (a = new Map()));
    let b = a.get(sip);
    if (!b) a.set(sip, (b = new Map()));
    let c = b.get(sport);
    if (!c) b.set(sport, (c = new Map()));
    let d = c.get(tip);
    if (!d) c.set(tip, (d = new Map()));
    let row = d.get(tport);
    if (!row) {
      row = this.newRow(proto, sip, sport, tip, tport);
      d.set(tport, row);
      this.rowList.push(row);
    }
    return row;
  }

  private newRow(proto: AuditProto, sip: string, sport: number, tip: string, tport: number): AuditRow {
    const service = formatEndpoint(sip, sport);
    const set = this.serviceSet(service, proto);
    const node = findNode(this.opts.inventory, tip, tport, { protocol: proto, service });
    const row: AuditRow = {
      service,
      target: formatEndpoint(tip, tport),
      targetIp: tip,
      protocol: proto,
      verdict: node ? node.state : 'absent',
      unverified: set.active.length === 0,
      entries: 0,
      assured: 0,
      unreplied: 0,
      stale: 0,
    };
    if (node) row.node = node;
    return row;
  }

  /**
   * The active backends of a service: nodes listed for it, and nodes listed for no service in
   * particular. Empty means the pool is empty or the source does not say which backends serve
   * this address; either way nothing of it is judged (an empty pool must never flush a table).
   */
  serviceSet(service: string, proto: AuditProto): ServiceSet {
    const key = proto + ' ' + service;
    let s = this.sets.get(key);
    if (s) return s;
    const active: string[] = [];
    for (const n of this.opts.inventory.nodes) {
      if (n.state !== 'active') continue;
      if (n.protocol !== undefined && n.protocol !== proto) continue;
      if (n.service !== undefined && n.service !== service) continue;
      const ep = nodeEndpoint(n);
      if (!active.includes(ep)) active.push(ep);
    }
    s = { service, protocol: proto, active };
    this.sets.set(key, s);
    return s;
  }

  /** Rows sorted by service, protocol, then most entries first. */
  rowsSorted(): AuditRow[] {
    return [...this.rowList].sort(
      (x, y) => cmp(x.service, y.service) || cmp(x.protocol, y.protocol) || y.entries - x.entries || cmp(x.target, y.target),
    );
  }

  /** Every service set consulted, sorted. */
  serviceSets(): ServiceSet[] {
    return [...this.sets.values()].sort((x, y) => cmp(x.service, y.service) || cmp(x.protocol, y.protocol));
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
