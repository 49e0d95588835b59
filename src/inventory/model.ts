/**
 * The backend inventory: which backends exist behind which service addresses, and in what
 * state. Every source (our JSON, plain lines, EndpointSlices, nft, iptables, IPVS) becomes
 * this one model, so `analyze` and `audit` ask the same questions of all of them.
 */
import { formatEndpoint, normalizeIP } from '../core/address.js';
import type { Warning } from '../core/anomalies.js';
import type { Timestamp } from '../core/time.js';

export type TargetState = 'active' | 'draining' | 'terminated' | 'unresponsive' | 'unknown';
export const TARGET_STATES: readonly TargetState[] = ['active', 'draining', 'terminated', 'unresponsive', 'unknown'];

export type Proto = 'udp' | 'tcp' | 'sctp';

export type InventoryFormat =
  | 'stalepin-json'
  | 'lines'
  | 'k8s-endpointslices'
  | 'nft-json'
  | 'iptables-save'
  | 'ipvsadm-list'
  | 'ipvsadm-save'
  | 'merged';

/** Human names, for "which formats were tried" in errors and for the docs. */
export const FORMAT_NAMES: Record<Exclude<InventoryFormat, 'merged'>, string> = {
  'stalepin-json': 'stalepin JSON {"nodes":[...]}',
  lines: 'plain lines "ADDRESS STATE [SINCE]"',
  'k8s-endpointslices': 'Kubernetes EndpointSlice JSON',
  'nft-json': 'nft -j list ruleset',
  'iptables-save': 'iptables-save / ip6tables-save',
  'ipvsadm-list': 'ipvsadm -Ln',
  'ipvsadm-save': 'ipvsadm -Sn',
};

export interface InventoryNode {
  /** Canonical IP text (src/core/address.ts). */
  address: string;
  /** Absent: the node matches any port. */
  port?: number;
  name?: string;
  state: TargetState;
  since?: Timestamp;
  protocol?: Proto;
  /** "ip:port" of the service address (VIP) this backend serves, when the source says. */
  service?: string;
  /** Kubernetes "namespace/name" of the Service, when the source says (EndpointSlice, kube-proxy). */
  serviceName?: string;
  /** The file (or live command) this node came from; kept through merge(). */
  origin?: string;
}

export interface InventoryService {
  address: string;
  port?: number;
  protocol?: string;
}

export interface InventorySource {
  file: string;
  format: InventoryFormat;
  /** One line: how the format was recognised. */
  why: string;
}

/** A Warning that may carry the 1-based line of a text input. */
export interface InventoryWarning extends Warning {
  line?: number;
}

export interface Inventory {
  nodes: InventoryNode[];
  services: InventoryService[];
  source: InventorySource;
  /** For a merged inventory: every source, in merge order. */
  sources?: InventorySource[];
  warnings: InventoryWarning[];
  /**
   * Set when some backends could not be read (an xt DNAT target nft cannot show, an unreadable
   * map, a huge range): the active set may be missing backends, so nothing may be deleted on
   * its word. The text says why.
   */
  incomplete?: string;
}

/** "file:line: message" (or "file: message") for a terminal; the message is already visible text. */
export function formatWarning(w: InventoryWarning): string {
  const where = w.file === undefined ? '' : w.line === undefined ? `${w.file}: ` : `${w.file}:${w.line}: `;
  return where + w.message;
}

// Most alive first: when a backend appears in several services (ipvs, kube-proxy), it is
// alive if any of them still sends it traffic, so an audit never calls a serving backend stale.
const ALIVE_RANK: Record<TargetState, number> = { active: 0, draining: 1, unknown: 2, unresponsive: 3, terminated: 4 };

interface Index {
  nodeCount: number;
  serviceCount: number;
  /** "ip|port" and "ip|" (port-less) -> nodes. */
  nodes: Map<string, InventoryNode[]>;
  /** ip -> every node of that address, any port. */
  byAddr: Map<string, InventoryNode[]>;
  /** "ip|port" and "ip|" -> protocols ('' for any). */
  services: Map<string, string[]>;
  serviceAddrs: Set<string>;
}

// Built on first lookup: an audit asks once per conntrack entry (a million times), so the
// lookup is one Map.get. Rebuilt if nodes or services were added since.
const indexes = new WeakMap<Inventory, Index>();

function indexOf(inv: Inventory): Index {
  const cached = indexes.get(inv);
  if (cached && cached.nodeCount === inv.nodes.length && cached.serviceCount === inv.services.length) return cached;
  const ix: Index = {
    nodeCount: inv.nodes.length,
    serviceCount: inv.services.length,
    nodes: new Map(),
    byAddr: new Map(),
    services: new Map(),
    serviceAddrs: new Set(),
  };
  for (const n of inv.nodes) {
    const k = n.address + '|' + (n.port ?? '');
    const l = ix.nodes.get(k);
    if (l) l.push(n);
    else ix.nodes.set(k, [n]);
    const a = ix.byAddr.get(n.address);
    if (a) a.push(n);
    else ix.byAddr.set(n.address, [n]);
  }
  for (const s of inv.services) {
    const k = s.address + '|' + (s.port ?? '');
    const l = ix.services.get(k);
    const p = (s.protocol ?? '').toLowerCase();
    if (l) l.push(p);
    else ix.services.set(k, [p]);
    ix.serviceAddrs.add(s.address);
  }
  indexes.set(inv, ix);
  return ix;
}

// A dotted quad without leading zeros is already canonical: most lookups (IPv4 misses in an
// audit of a million entries) then skip parsing. Other spellings are parsed once and remembered.
const PLAIN_V4 = /^(?:(?:[1-9]\d{0,2}|0)\.){3}(?:[1-9]\d{0,2}|0)$/;
const canonCache = new Map<string, string>();
const CANON_CACHE_MAX = 65536;

function canonical(ip: string): string {
  if (PLAIN_V4.test(ip)) return ip;
  let c = canonCache.get(ip);
  if (c === undefined) {
    c = normalizeIP(ip) ?? ip;
    if (canonCache.size >= CANON_CACHE_MAX) canonCache.clear();
    canonCache.set(ip, c);
  }
  return c;
}

export interface LookupOptions {
  protocol?: string;
  /** "ip:port" of the service: prefer the node entry for that service. */
  service?: string;
}

function pick(list: InventoryNode[] | undefined, opts: LookupOptions | undefined): InventoryNode | undefined {
  if (!list) return undefined;
  let best: InventoryNode | undefined;
  let bestScore = Infinity;
  const proto = opts?.protocol?.toLowerCase();
  for (const n of list) {
    if (proto !== undefined && n.protocol !== undefined && n.protocol !== proto) continue;
    let score = ALIVE_RANK[n.state];
    if (opts?.service !== undefined && n.service !== undefined) score += n.service === opts.service ? -10 : 10;
    if (score < bestScore) {
      best = n;
      bestScore = score;
    }
  }
  return best;
}

/**
 * The node entry for a backend address (and port). An exact port entry wins over a port-less
 * one; among several entries for the same address and port the most alive wins, unless
 * `opts.service` names the service. `ip` should be canonical; other spellings are normalised.
 */
export function findNode(inv: Inventory, ip: string, port?: number, opts?: LookupOptions): InventoryNode | undefined {
  const ix = indexOf(inv);
  let addr = ip;
  for (let attempt = 0; attempt < 2; attempt++) {
    if (port !== undefined) {
      const exact = pick(ix.nodes.get(addr + '|' + port), opts);
      if (exact) return exact;
    } else {
      // No port asked: any entry for the address counts, the most alive first.
      const best = pick(ix.byAddr.get(addr), opts);
      if (best) return best;
    }
    const any = pick(ix.nodes.get(addr + '|'), opts);
    if (any) return any;
    const c = canonical(ip);
    if (c === addr) break;
    addr = c;
  }
  return undefined;
}

/** The state the inventory gives a backend, or undefined when it does not list it. */
export function stateOf(inv: Inventory, ip: string, port?: number, opts?: LookupOptions): TargetState | undefined {
  return findNode(inv, ip, port, opts)?.state;
}

/** Whether ip (and port) is a service address (VIP) in the inventory. Port-less services match any port. */
export function isService(inv: Inventory, ip: string, port?: number, protocol?: string): boolean {
  const ix = indexOf(inv);
  let addr = ip;
  if (!ix.serviceAddrs.has(addr)) {
    addr = canonical(ip);
    if (addr === ip || !ix.serviceAddrs.has(addr)) return false;
  }
  if (port === undefined) return true;
  const proto = protocol?.toLowerCase();
  return protoIn(ix.services.get(addr + '|' + port), proto) || protoIn(ix.services.get(addr + '|'), proto);
}

function protoIn(list: string[] | undefined, proto: string | undefined): boolean {
  if (list === undefined) return false;
  for (const p of list) if (p === '' || proto === undefined || p === proto) return true;
  return false;
}

/** "ip:port" or "ip" of a node, for reports. */
export function nodeEndpoint(n: { address: string; port?: number }): string {
  return n.port === undefined ? n.address : formatEndpoint(n.address, n.port);
}

function protoCompatible(a: string | undefined, b: string | undefined): boolean {
  return a === undefined || b === undefined || a === b;
}

/**
 * Combine inventories; later sources win per node. A later node replaces the state (and since,
 * name, origin) of every earlier entry for the same address whose port it covers (a port-less
 * node covers every port), keeping the earlier entry's port, protocol and service: rules say
 * where traffic goes, a later list says which backend is gone. Services are the union.
 */
export function merge(invs: Inventory[]): Inventory {
  if (invs.length === 1) return invs[0]!;
  let nodes: InventoryNode[] = [];
  const services: InventoryService[] = [];
  const seenSvc = new Set<string>();
  const warnings: InventoryWarning[] = [];
  const sources: InventorySource[] = [];
  const incomplete: string[] = [];
  for (const inv of invs) {
    for (const s of inv.sources ?? [inv.source]) sources.push(s);
    if (inv.incomplete !== undefined) incomplete.push(inv.incomplete);
    warnings.push(...inv.warnings);
    for (const s of inv.services) {
      const k = `${s.address}|${s.port ?? ''}|${s.protocol ?? ''}`;
      if (!seenSvc.has(k)) {
        seenSvc.add(k);
        services.push(s);
      }
    }
    const next: InventoryNode[] = [];
    const incoming = inv.nodes;
    const covered = new Set<number>();
    for (const e of nodes) {
      let replaced = false;
      for (let i = 0; i < incoming.length; i++) {
        const l = incoming[i]!;
        if (l.address !== e.address || !protoCompatible(l.protocol, e.protocol)) continue;
        if (l.port !== undefined && l.port !== e.port) continue;
        if (l.service !== undefined && e.service !== undefined && l.service !== e.service) continue;
        const m: InventoryNode = { ...e, state: l.state };
        if (l.since !== undefined) m.since = l.since;
        else delete m.since;
        if (l.name !== undefined) m.name = l.name;
        if (l.serviceName !== undefined) m.serviceName = l.serviceName;
        if (l.origin !== undefined) m.origin = l.origin;
        next.push(m);
        replaced = true;
        if (l.port !== undefined) covered.add(i);
        break;
      }
      if (!replaced) next.push(e);
    }
    // Port-less nodes are kept as well, so other ports of that address get their state too.
    for (let i = 0; i < incoming.length; i++) if (!covered.has(i)) next.push(incoming[i]!);
    nodes = dedupeNodes(next);
  }
  const out: Inventory = {
    nodes,
    services,
    source: {
      file: sources.map((s) => s.file).join(', '),
      format: 'merged',
      why: `merged from ${sources.length} sources, later ones winning: ` + sources.map((s) => `${s.file} (${s.format})`).join(', '),
    },
    sources,
    warnings,
  };
  if (incomplete.length) out.incomplete = incomplete.join('; ');
  return out;
}

function nodeKey(n: InventoryNode): string {
  return `${n.address}|${n.port ?? ''}|${n.protocol ?? ''}|${n.service ?? ''}`;
}

/** Drop exact duplicates (same address, port, protocol and service), the later one winning. */
export function dedupeNodes(nodes: InventoryNode[]): InventoryNode[] {
  const at = new Map<string, number>();
  const out: InventoryNode[] = [];
  for (const n of nodes) {
    const k = nodeKey(n);
    const i = at.get(k);
    if (i === undefined) {
      at.set(k, out.length);
      out.push(n);
    } else out[i] = n;
  }
  return out;
}

/** Collects nodes, services and warnings while a parser runs. */
export class InventoryBuilder {
  readonly nodes: InventoryNode[] = [];
  readonly services: InventoryService[] = [];
  readonly warnings: InventoryWarning[] = [];
  private readonly nodeAt = new Map<string, number>();
  private readonly svcSeen = new Set<string>();
  /** Bound on warnings: a hostile file cannot grow this list without limit. */
  static readonly MAX_WARNINGS = 200;
  private dropped = 0;
  private incompleteWhy: string | undefined;

  constructor(readonly file: string) {}

  node(n: InventoryNode): void {
    if (n.origin === undefined) n.origin = this.file;
    const k = nodeKey(n);
    const i = this.nodeAt.get(k);
    if (i === undefined) {
      this.nodeAt.set(k, this.nodes.length);
      this.nodes.push(n);
    } else this.nodes[i] = n;
  }

  service(address: string, port?: number, protocol?: string): void {
    const k = `${address}|${port ?? ''}|${protocol ?? ''}`;
    if (this.svcSeen.has(k)) return;
    this.svcSeen.add(k);
    const s: InventoryService = { address };
    if (port !== undefined) s.port = port;
    if (protocol !== undefined) s.protocol = protocol;
    this.services.push(s);
  }

  warn(code: string, message: string, line?: number): void {
    if (this.warnings.length >= InventoryBuilder.MAX_WARNINGS) {
      this.dropped++;
      return;
    }
    const w: InventoryWarning = { code, message, file: this.file };
    if (line !== undefined) w.line = line;
    this.warnings.push(w);
  }

  /** A warning that also marks the inventory incomplete (backends may be missing). */
  warnIncomplete(code: string, message: string, line?: number): void {
    this.incompleteWhy ??= line === undefined ? message : `line ${line}: ${message}`;
    this.warn(code, message, line);
  }

  finish(format: InventoryFormat, why: string): Inventory {
    if (this.dropped > 0)
      this.warnings.push({ code: 'inventory_warnings_dropped', message: `${this.dropped} more warnings not shown`, file: this.file });
    const inv: Inventory = { nodes: this.nodes, services: this.services, source: { file: this.file, format, why }, warnings: this.warnings };
    if (this.incompleteWhy !== undefined) inv.incomplete = `${this.file}: ${this.incompleteWhy}`;
    return inv;
  }
}

/** Parse "udp"/"tcp"/"sctp" or their IP protocol numbers. */
export function parseProto(v: unknown): Proto | undefined {
  const s = String(v).toLowerCase();
  if (s === 'udp' || s === '17') return 'udp';
  if (s === 'tcp' || s === '6') return 'tcp';
  if (s === 'sctp' || s === '132') return 'sctp';
  return undefined;
}
