/**
 * DNAT rules as a chain graph, shared by the nft and iptables readers. The service a backend
 * serves is often matched far from the DNAT itself: kube-proxy matches the service address and
 * port in one chain, picks an endpoint chain with a random choice, and DNATs there without any
 * destination match. So the match context (destination address, port, protocol) flows along
 * jumps, gotos and verdict-map elements, and each DNAT target takes the context it was reached with.
 */
import { formatEndpoint } from '../core/address.js';
import type { InventoryBuilder, InventoryNode, Proto } from './model.js';

/** What a packet is known to match on its way to a rule. */
export interface Ctx {
  addr?: string;
  port?: number;
  proto?: Proto;
}

export interface DnatTarget {
  ip: string;
  port?: number;
  /** Context from a map key (e.g. a map keyed by daddr . dport), over the rule's own. */
  ctx?: Ctx;
}

export interface GRule {
  /** Alternatives from the rule's own matches (a set match gives several); [{}] for none. */
  ctxs: Ctx[];
  jumps: { chain: string; ctx?: Ctx }[];
  dnats: { targets: DnatTarget[]; serviceName?: string; proto?: Proto }[];
}

export interface GChain {
  base: boolean;
  rules: GRule[];
}

export function mergeCtx(outer: Ctx, inner: Ctx | undefined): Ctx {
  if (!inner) return outer;
  const c: Ctx = {};
  const addr = inner.addr ?? outer.addr;
  const port = inner.port ?? outer.port;
  const proto = inner.proto ?? outer.proto;
  if (addr !== undefined) c.addr = addr;
  if (port !== undefined) c.port = port;
  if (proto !== undefined) c.proto = proto;
  return c;
}

function ctxKey(c: Ctx): string {
  return `${c.addr ?? ''}|${c.port ?? ''}|${c.proto ?? ''}`;
}

/** Cross product of match alternatives, bounded so a pathological ruleset cannot explode. */
export function crossCtx(a: Ctx[], b: Ctx[], limit = 4096): Ctx[] {
  const out: Ctx[] = [];
  for (const x of a) for (const y of b) if (out.length < limit) out.push(mergeCtx(x, y));
  return out;
}

const MAX_DEPTH = 32;
const MAX_VISITS = 200_000;

/**
 * Walk from every base chain with an empty context; then walk chains no base chain reaches, so
 * a partial ruleset still yields its targets. Counting an unreached DNAT as active is the safe
 * side for an audit: a backend wrongly missing from the active set would make its live entries
 * look stale, and `--fix apply` would delete them.
 */
export function walkGraph(chains: Map<string, GChain>, b: InventoryBuilder): void {
  const seen = new Set<string>();
  const reached = new Set<string>();
  let visits = 0;
  let truncated = false;
  const visit = (name: string, ctx: Ctx, depth: number): void => {
    const chain = chains.get(name);
    if (!chain) return;
    const key = name + '\u0000' + ctxKey(ctx);
    if (seen.has(key)) return;
    if (depth > MAX_DEPTH || ++visits > MAX_VISITS) {
      truncated = true;
      return;
    }
    seen.add(key);
    reached.add(name);
    for (const r of chain.rules) {
      for (const own of r.ctxs) {
        const c = mergeCtx(ctx, own);
        for (const d of r.dnats) {
          for (const t of d.targets) {
            const tc = mergeCtx(c, t.ctx);
            emit(b, t, tc, d.proto ?? tc.proto, d.serviceName);
          }
        }
        for (const j of r.jumps) visit(j.chain, mergeCtx(c, j.ctx), depth + 1);
      }
    }
  };
  for (const [name, ch] of chains) if (ch.base) visit(name, {}, 0);
  for (const name of chains.keys()) if (!reached.has(name)) visit(name, {}, 0);
  if (truncated) b.warnIncomplete('inventory_rules_too_deep', `rule graph deeper than ${MAX_DEPTH} jumps or too large; some paths were not followed`);
}

function emit(b: InventoryBuilder, t: DnatTarget, c: Ctx, proto: Proto | undefined, serviceName: string | undefined): void {
  const n: InventoryNode = { address: t.ip, state: 'active' };
  // A DNAT without a port keeps the packet's destination port: the service port.
  const port = t.port ?? c.port;
  if (port !== undefined) n.port = port;
  if (proto !== undefined) n.protocol = proto;
  if (c.addr !== undefined) {
    if (c.port !== undefined) {
      n.service = formatEndpoint(c.addr, c.port);
    }
    b.service(c.addr, c.port, proto);
  }
  if (serviceName !== undefined) n.serviceName = serviceName;
  b.node(n);
}

/** Expand an address range or prefix into addresses, up to `limit`; undefined when larger. */
export function expandRange(first: Uint8Array, last: Uint8Array, limit = 256): Uint8Array[] | undefined {
  if (first.length !== last.length) return undefined;
  const out: Uint8Array[] = [];
  const cur = Uint8Array.from(first);
  for (;;) {
    out.push(Uint8Array.from(cur));
    if (cur.every((v, i) => v === last[i])) return out;
    if (out.length >= limit) return undefined;
    // increment big-endian
    let i = cur.length - 1;
    while (i >= 0 && cur[i] === 255) cur[i--] = 0;
    if (i < 0) return undefined;
    cur[i]!++;
    for (let k = 0; k < cur.length; k++) {
      if (cur[k]! > last[k]!) return undefined;
      if (cur[k]! < last[k]!) break;
    }
  }
}

/** First and last address of a prefix. */
export function prefixBounds(addr: Uint8Array, len: number): [Uint8Array, Uint8Array] | undefined {
  const bits = addr.length * 8;
  if (!Number.isInteger(len) || len < 0 || len > bits) return undefined;
  const lo = Uint8Array.from(addr);
  const hi = Uint8Array.from(addr);
  for (let bit = len; bit < bits; bit++) {
    const byte = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    lo[byte]! &= ~mask;
    hi[byte]! |= mask;
  }
  return [lo, hi];
}
