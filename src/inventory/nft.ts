/**
 * `nft -j list ruleset` (libnftables-json(5)): DNAT targets are the active backend set; the
 * destination address, port and protocol matched on the way to them are the services. Handles
 * plain `dnat to ip[:port]`, `dnat ip to`, anonymous and named maps keyed by numgen, jhash,
 * source address or by destination address . port, verdict maps (kube-proxy's nftables mode),
 * jumps and gotos between chains.
 */
import { formatIP, normalizeIP, parseIP } from '../core/address.js';
import { visible } from '../report/visible.js';
import { show } from './json.js';
import { crossCtx, expandRange, prefixBounds, walkGraph, type Ctx, type DnatTarget, type GChain, type GRule } from './graph.js';
import { InventoryBuilder, parseProto, type Inventory } from './model.js';

type J = unknown;
type Obj = Record<string, J>;

const isObj = (v: J): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

interface NamedSet {
  elem: J[];
}

/** One key component's meaning: which context field a value in that position fills. */
type Slot = 'addr' | 'port' | 'proto' | 'other';

function slotOf(expr: J): { slot: Slot; proto?: string } {
  if (isObj(expr)) {
    const p = expr['payload'];
    if (isObj(p)) {
      const proto = p['protocol'];
      const field = p['field'];
      if ((proto === 'ip' || proto === 'ip6') && field === 'daddr') return { slot: 'addr' };
      if (field === 'dport' && (proto === 'udp' || proto === 'tcp' || proto === 'sctp' || proto === 'th'))
        return proto === 'th' ? { slot: 'port' } : { slot: 'port', proto };
      if ((proto === 'ip' && field === 'protocol') || (proto === 'ip6' && field === 'nexthdr')) return { slot: 'proto' };
    }
    const m = expr['meta'];
    if (isObj(m) && m['key'] === 'l4proto') return { slot: 'proto' };
  }
  return { slot: 'other' };
}

function keySlots(key: J): { slot: Slot; proto?: string }[] {
  if (isObj(key) && Array.isArray(key['concat'])) return (key['concat'] as J[]).map(slotOf);
  return [slotOf(key)];
}

/** Unwrap an element written with options: {"elem": {"val": X, "timeout": ...}}. */
function unwrapElem(v: J): J {
  if (isObj(v) && isObj(v['elem']) && 'val' in (v['elem'] as Obj)) return (v['elem'] as Obj)['val'];
  return v;
}

/** A single address from a value (string, or a host prefix /32 or /128); undefined otherwise. */
function exactAddr(v: J): string | undefined {
  if (typeof v === 'string') return normalizeIP(v);
  if (isObj(v) && isObj(v['prefix'])) {
    const p = v['prefix'] as Obj;
    const ip = typeof p['addr'] === 'string' ? parseIP(p['addr']) : undefined;
    if (ip && p['len'] === ip.length * 8) return formatIP(ip, 0, ip.length);
  }
  return undefined;
}

function portOf(v: J): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535) return v;
  if (typeof v === 'string' && /^\d{1,5}$/.test(v)) return portOf(Number(v));
  return undefined;
}

/** Context from an element key zipped with the key expression's slots. */
function ctxFromKey(slots: { slot: Slot; proto?: string }[], key: J): Ctx {
  const k = unwrapElem(key);
  const vals = slots.length > 1 && isObj(k) && Array.isArray(k['concat']) ? (k['concat'] as J[]) : [k];
  const c: Ctx = {};
  for (let i = 0; i < slots.length && i < vals.length; i++) apply(c, slots[i]!, vals[i]);
  return c;
}

function apply(c: Ctx, s: { slot: Slot; proto?: string }, v: J): void {
  if (s.slot === 'addr') {
    const a = exactAddr(v);
    if (a !== undefined) c.addr = a;
  } else if (s.slot === 'port') {
    const p = portOf(v);
    if (p !== undefined) c.port = p;
    const pr = parseProto(s.proto);
    if (pr) c.proto = pr;
  } else if (s.slot === 'proto') {
    const pr = parseProto(v);
    if (pr) c.proto = pr;
  }
}

class NftReader {
  readonly b: InventoryBuilder;
  readonly sets = new Map<string, NamedSet>();
  readonly chains = new Map<string, GChain>();

  constructor(file: string) {
    this.b = new InventoryBuilder(file);
  }

  /** Elements of an inline {"set": [...]} or a named "@set" in this table. */
  elements(data: J, scope: string, where: string): J[] | undefined {
    if (isObj(data) && Array.isArray(data['set'])) return data['set'] as J[];
    if (typeof data === 'string' && data.startsWith('@')) {
      const s = this.sets.get(scope + '|' + data.slice(1));
      if (!s) {
        this.b.warnIncomplete('inventory_nft_unknown_set', `${where}: map or set ${visible(data)} is not in the ruleset`);
        return [];
      }
      return s.elem;
    }
    return undefined;
  }

  /** Values a match's right-hand side stands for: one value, an anonymous set, or a named set. */
  matchValues(right: J, scope: string, where: string): J[] {
    const els = this.elements(right, scope, where);
    return els ? els.map(unwrapElem) : [right];
  }

  /** DNAT address targets from a dnat "addr" expression. */
  addrTargets(addr: J, scope: string, where: string): DnatTarget[] {
    const direct = this.addrValue(addr, where);
    if (direct) return direct;
    if (isObj(addr) && isObj(addr['map'])) {
      const m = addr['map'] as Obj;
      const slots = keySlots(m['key']);
      const els = this.elements(m['data'], scope, where);
      if (!els) {
        this.b.warnIncomplete('inventory_nft_unsupported', `${where}: cannot read the dnat map data ${show(m['data'])}`);
        return [];
      }
      const out: DnatTarget[] = [];
      for (const e of els) {
        if (!Array.isArray(e) || e.length !== 2) continue;
        const vals = this.addrValue(e[1], where);
        if (!vals) continue;
        const ctx = ctxFromKey(slots, e[0]);
        for (const v of vals) out.push(Object.keys(ctx).length ? { ...v, ctx } : v);
      }
      return out;
    }
    this.b.warnIncomplete('inventory_nft_unsupported', `${where}: cannot read the dnat address ${show(addr)}`);
    return [];
  }

  /** A literal target: "ip", {"concat": [ip, port]}, a range or a prefix. */
  addrValue(v: J, where: string): DnatTarget[] | undefined {
    if (typeof v === 'string') {
      const ip = normalizeIP(v);
      return ip === undefined ? undefined : [{ ip }];
    }
    if (!isObj(v)) return undefined;
    if (Array.isArray(v['concat'])) {
      const c = v['concat'] as J[];
      const ips = this.addrValue(c[0], where);
      const port = portOf(c[1]);
      if (!ips) return undefined;
      return port === undefined ? ips : ips.map((t) => ({ ...t, port }));
    }
    let lo: Uint8Array | undefined;
    let hi: Uint8Array | undefined;
    if (Array.isArray(v['range'])) {
      const r = v['range'] as J[];
      lo = typeof r[0] === 'string' ? parseIP(r[0]) : undefined;
      hi = typeof r[1] === 'string' ? parseIP(r[1]) : undefined;
    } else if (isObj(v['prefix'])) {
      const p = v['prefix'] as Obj;
      const a = typeof p['addr'] === 'string' ? parseIP(p['addr']) : undefined;
      const bounds = a && typeof p['len'] === 'number' ? prefixBounds(a, p['len']) : undefined;
      if (bounds) [lo, hi] = bounds;
    } else return undefined;
    if (!lo || !hi) return undefined;
    const all = expandRange(lo, hi);
    if (!all) {
      this.b.warnIncomplete('inventory_range_too_large', `${where}: dnat address range has more than 256 addresses; not listed`);
      return [];
    }
    return all.map((a) => ({ ip: formatIP(a, 0, a.length) }));
  }

  /** Port(s) of a dnat "port": a number, or a map whose keys may carry service context. */
  portTargets(port: J, scope: string, where: string): { port?: number; ctx?: Ctx }[] {
    if (port === undefined) return [{}];
    const p = portOf(port);
    if (p !== undefined) return [{ port: p }];
    if (isObj(port) && isObj(port['map'])) {
      const m = port['map'] as Obj;
      const slots = keySlots(m['key']);
      const els = this.elements(m['data'], scope, where) ?? [];
      const out: { port?: number; ctx?: Ctx }[] = [];
      for (const e of els) {
        if (!Array.isArray(e) || e.length !== 2) continue;
        const pv = portOf(e[1]);
        if (pv !== undefined) out.push({ port: pv, ctx: ctxFromKey(slots, e[0]) });
      }
      return out;
    }
    // A port range: the backend port is one of several; leave it open (matches any port).
    return [{}];
  }

  rule(r: Obj, index: number): void {
    const family = String(r['family']);
    const table = String(r['table']);
    const scope = family + '|' + table;
    const chainKey = scope + '|' + String(r['chain']);
    const where = `table ${family} ${table} chain ${String(r['chain'])} handle ${String(r['handle'] ?? '#' + index)}`;
    let chain = this.chains.get(chainKey);
    if (!chain) {
      chain = { base: false, rules: [] };
      this.chains.set(chainKey, chain);
    }
    const g: GRule = { ctxs: [{}], jumps: [], dnats: [] };
    const exprs = Array.isArray(r['expr']) ? (r['expr'] as J[]) : [];
    for (const x of exprs) {
      if (!isObj(x)) continue;
      const [kind] = Object.keys(x);
      const body = x[kind!];
      switch (kind) {
        case 'match': {
          if (!isObj(body)) break;
          const op = body['op'];
          if (op !== '==' && op !== 'in') break;
          const slots = keySlots(body['left']);
          if (slots.every((s) => s.slot === 'other')) break;
          const alts: Ctx[] = [];
          for (const v of this.matchValues(body['right'], scope, where)) {
            const c: Ctx = {};
            const vals = slots.length > 1 && isObj(v) && Array.isArray(v['concat']) ? (v['concat'] as J[]) : [v];
            for (let i = 0; i < slots.length && i < vals.length; i++) apply(c, slots[i]!, vals[i]);
            alts.push(c);
          }
          if (alts.length) g.ctxs = crossCtx(g.ctxs, alts);
          break;
        }
        case 'jump':
        case 'goto':
          if (isObj(body) && typeof body['target'] === 'string') g.jumps.push({ chain: scope + '|' + body['target'] });
          break;
        case 'vmap': {
          if (!isObj(body)) break;
          const slots = keySlots(body['key']);
          for (const e of this.elements(body['data'], scope, where) ?? []) {
            if (!Array.isArray(e) || e.length !== 2) continue;
            const verdict = e[1];
            if (!isObj(verdict)) continue;
            const t = (verdict['goto'] ?? verdict['jump']) as J;
            if (isObj(t) && typeof t['target'] === 'string') g.jumps.push({ chain: scope + '|' + t['target'], ctx: ctxFromKey(slots, e[0]) });
          }
          break;
        }
        case 'dnat': {
          if (!isObj(body)) break;
          if (body['addr'] === undefined) {
            this.b.warn('inventory_nft_unsupported', `${where}: dnat without an address (port only) names no backend`);
            break;
          }
          const addrs = this.addrTargets(body['addr'], scope, where);
          const ports = this.portTargets(body['port'], scope, where);
          const targets: DnatTarget[] = [];
          for (const a of addrs)
            for (const p of ports) {
              const t: DnatTarget = { ip: a.ip };
              const port = a.port ?? p.port;
              if (port !== undefined) t.port = port;
              if (a.ctx || p.ctx) t.ctx = { ...p.ctx, ...a.ctx };
              targets.push(t);
            }
          g.dnats.push({ targets });
          break;
        }
        case 'xt':
          if (isObj(body) && body['type'] === 'target' && body['name'] === 'DNAT')
            this.b.warnIncomplete(
              'inventory_nft_xt_dnat',
              `${where}: an iptables-nft DNAT target (xt) whose address nft -j cannot show; read these rules with iptables-save`,
            );
          break;
      }
    }
    chain.rules.push(g);
  }

  read(items: J[]): void {
    // Sets, maps and chains first: rules refer to them, and nft lists them before rules anyway.
    for (const it of items) {
      if (!isObj(it)) continue;
      const set = (it['map'] ?? it['set']) as J;
      if (isObj(set)) {
        const key = `${String(set['family'])}|${String(set['table'])}|${String(set['name'])}`;
        this.sets.set(key, { elem: Array.isArray(set['elem']) ? (set['elem'] as J[]) : [] });
      }
      const ch = it['chain'];
      if (isObj(ch)) {
        const key = `${String(ch['family'])}|${String(ch['table'])}|${String(ch['name'])}`;
        const existing = this.chains.get(key);
        const base = typeof ch['hook'] === 'string';
        if (existing) existing.base ||= base;
        else this.chains.set(key, { base, rules: [] });
      }
    }
    let i = 0;
    for (const it of items) {
      if (isObj(it) && isObj(it['rule'])) this.rule(it['rule'] as Obj, i);
      i++;
    }
    walkGraph(this.chains, this.b);
  }
}

export function parseNftJson(text: string, file: string, doc?: unknown): Inventory {
  const root = doc ?? JSON.parse(text);
  const items = isObj(root) ? root['nftables'] : undefined;
  if (!Array.isArray(items)) throw new TypeError('no "nftables" array');
  const r = new NftReader(file);
  r.read(items);
  if (r.b.nodes.length === 0) r.b.warn('inventory_no_backends', 'the ruleset has no DNAT targets');
  return r.b.finish('nft-json', 'JSON with a top-level "nftables" array (nft -j list ruleset)');
}
