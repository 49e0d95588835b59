/**
 * `iptables-save` / `ip6tables-save` text: `-j DNAT --to-destination ip[:port]` rules in the
 * nat table are the active set; `-d`, `-p` and `--dport` matched on the way (through jumps such
 * as kube-proxy's KUBE-SERVICES -> KUBE-SVC-* -> KUBE-SEP-*) give the service.
 */
import { formatIP, normalizeIP, parseIP } from '../core/address.js';
import { visible } from '../report/visible.js';
import { crossCtx, expandRange, walkGraph, type Ctx, type DnatTarget, type GChain, type GRule } from './graph.js';
import { InventoryBuilder, parseProto, type Inventory } from './model.js';

const BUILTIN = new Set(['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING']);

/** Split a rule line into words; iptables-save double-quotes words with spaces, escaping \" and \\. */
export function splitWords(line: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    while (i < n && (line[i] === ' ' || line[i] === '\t')) i++;
    if (i >= n) break;
    let w = '';
    if (line[i] === '"') {
      i++;
      while (i < n && line[i] !== '"') {
        if (line[i] === '\\' && i + 1 < n) i++;
        w += line[i++];
      }
      if (i >= n) return undefined;
      i++;
    } else {
      while (i < n && line[i] !== ' ' && line[i] !== '\t') w += line[i++];
    }
    out.push(w);
  }
  return out;
}

/** A destination match: an exact address (host prefix) or undefined for a wider prefix. */
function hostAddr(v: string): string | undefined {
  const slash = v.indexOf('/');
  if (slash < 0) return normalizeIP(v);
  const ip = parseIP(v.slice(0, slash));
  const len = Number(v.slice(slash + 1));
  if (ip && len === ip.length * 8) return formatIP(ip, 0, ip.length);
  return undefined;
}

/** Ports of "5060", "5060:5070" (a range: undefined, it matches many), or multiport "5060,5061". */
function ports(v: string): (number | undefined)[] {
  return v.split(',').map((p) => (/^\d{1,5}$/.test(p) && Number(p) <= 65535 ? Number(p) : undefined));
}

/**
 * "--to-destination" value: ip, ip:port, ip-ip:port-port, [v6]:port, bare v6.
 * Returns the targets, or a reason when it names no backend address.
 */
export function parseToDestination(v: string): DnatTarget[] | string {
  let addrPart: string;
  let portPart: string | undefined;
  if (v.startsWith('[')) {
    const m = /^\[([^\]]+)\](?:-\[([^\]]+)\])?(?::(.+))?$/.exec(v);
    if (!m) return 'unreadable address';
    addrPart = m[2] === undefined ? m[1]! : `${m[1]}-${m[2]}`;
    portPart = m[3];
  } else if ((v.match(/:/g) ?? []).length > 1) {
    addrPart = v;
  } else {
    const c = v.indexOf(':');
    addrPart = c < 0 ? v : v.slice(0, c);
    portPart = c < 0 ? undefined : v.slice(c + 1);
  }
  if (addrPart === '') return 'port-only DNAT (address unchanged) names no backend';
  let port: number | undefined;
  if (portPart !== undefined) {
    // A port range means "one of these": leave the port open.
    if (/^\d{1,5}$/.test(portPart)) port = Number(portPart);
    else if (!/^\d{1,5}-\d{1,5}(\/\d+)?$/.test(portPart)) return 'unreadable port';
  }
  const dash = addrPart.indexOf('-');
  let ips: string[];
  if (dash < 0) {
    const ip = normalizeIP(addrPart);
    if (ip === undefined) return 'unreadable address';
    ips = [ip];
  } else {
    const lo = parseIP(addrPart.slice(0, dash));
    const hi = parseIP(addrPart.slice(dash + 1));
    if (!lo || !hi) return 'unreadable address range';
    const all = expandRange(lo, hi);
    if (!all) return 'address range larger than 256 addresses';
    ips = all.map((a) => formatIP(a, 0, a.length));
  }
  return ips.map((ip) => (port === undefined ? { ip } : { ip, port }));
}

export function parseIptablesSave(text: string, file: string): Inventory {
  const b = new InventoryBuilder(file);
  const chains = new Map<string, GChain>();
  // Chains are named per table block: iptables-save and ip6tables-save output may be concatenated.
  let block = -1;
  let table: string | undefined;
  let declared = new Set<string>();
  const pendingJumps: { from: GRule; target: string; scope: string; line: number }[] = [];
  let sawNat = false;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i]!.replace(/\r$/, '');
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    if (t.startsWith('*')) {
      block++;
      table = t.slice(1).trim();
      declared = new Set();
      if (table === 'nat') sawNat = true;
      continue;
    }
    if (t === 'COMMIT') {
      table = undefined;
      continue;
    }
    if (table === undefined) {
      b.warn('inventory_bad_line', `outside a table: ${visible(t.slice(0, 120))}`, lineNo);
      continue;
    }
    if (t.startsWith(':')) {
      const m = /^:(\S+)\s+(\S+)/.exec(t);
      if (!m) b.warn('inventory_bad_line', `unreadable chain declaration: ${visible(t.slice(0, 120))}`, lineNo);
      else if (table === 'nat') {
        declared.add(m[1]!);
        const key = block + '|' + m[1]!;
        if (!chains.has(key)) chains.set(key, { base: BUILTIN.has(m[1]!), rules: [] });
      }
      continue;
    }
    if (!t.startsWith('-A ') && !t.startsWith('-I ')) {
      b.warn('inventory_bad_line', `not a rule, chain or table line: ${visible(t.slice(0, 120))}`, lineNo);
      continue;
    }
    if (table !== 'nat') continue;
    const words = splitWords(t);
    if (!words || words.length < 2) {
      (table === 'nat' ? b.warnIncomplete.bind(b) : b.warn.bind(b))('inventory_bad_line', `unterminated quote: ${visible(t.slice(0, 120))}`, lineNo);
      continue;
    }
    const chainName = words[1]!;
    const scope = String(block);
    const key = scope + '|' + chainName;
    let chain = chains.get(key);
    if (!chain) {
      chain = { base: BUILTIN.has(chainName), rules: [] };
      chains.set(key, chain);
    }
    let addrs: (string | undefined)[] = [undefined];
    let dports: (number | undefined)[] = [undefined];
    let proto: ReturnType<typeof parseProto>;
    let target: string | undefined;
    let comment: string | undefined;
    const dest: string[] = [];
    let negate = false;
    for (let w = 2; w < words.length; w++) {
      const word = words[w]!;
      if (word === '!') {
        negate = true;
        continue;
      }
      const val = (): string | undefined => (w + 1 < words.length ? words[++w] : undefined);
      const neg = negate;
      negate = false;
      switch (word) {
        case '-d':
        case '--destination': {
          const v = val();
          if (!neg && v !== undefined) addrs = v.split(',').map(hostAddr);
          break;
        }
        case '-p':
        case '--protocol': {
          const v = val();
          if (!neg && v !== undefined) proto = parseProto(v);
          break;
        }
        case '--dport':
        case '--destination-port':
        case '--dports':
        case '--destination-ports': {
          const v = val();
          if (!neg && v !== undefined) dports = ports(v);
          break;
        }
        case '-j':
        case '--jump':
        case '-g':
        case '--goto':
          target = val();
          break;
        case '--to-destination': {
          const v = val();
          if (v !== undefined) dest.push(v);
          break;
        }
        case '--comment':
          comment = val();
          break;
        default:
          // Other options take zero or more values; skip their values (words not starting with '-').
          while (w + 1 < words.length && !words[w + 1]!.startsWith('-') && words[w + 1] !== '!') w++;
      }
    }
    const own: Ctx[] = [];
    for (const a of addrs)
      for (const p of dports) {
        const c: Ctx = {};
        if (a !== undefined) c.addr = a;
        if (p !== undefined) c.port = p;
        if (proto !== undefined) c.proto = proto;
        own.push(c);
      }
    const g: GRule = { ctxs: crossCtx([{}], own), jumps: [], dnats: [] };
    if (target === 'DNAT') {
      if (dest.length === 0) b.warnIncomplete('inventory_bad_dnat', 'DNAT without --to-destination', lineNo);
      const targets: DnatTarget[] = [];
      for (const d of dest) {
        const r = parseToDestination(d);
        if (typeof r === 'string') {
          if (r.startsWith('port-only')) b.warn('inventory_bad_dnat', `--to-destination ${visible(d)}: ${r}`, lineNo);
          else b.warnIncomplete('inventory_bad_dnat', `--to-destination ${visible(d)}: ${r}`, lineNo);
        }
        else targets.push(...r);
      }
      const dn: GRule['dnats'][number] = { targets };
      // kube-proxy comments its endpoint rules with the service: "namespace/name:port".
      if (comment !== undefined && chainName.startsWith('KUBE-SEP-')) dn.serviceName = comment;
      g.dnats.push(dn);
    } else if (target !== undefined && !BUILTIN.has(target)) {
      pendingJumps.push({ from: g, target, scope, line: lineNo });
    }
    chain.rules.push(g);
  }
  // Jumps resolve after every chain is known: a rule may jump to a chain declared later.
  for (const j of pendingJumps) {
    const key = j.scope + '|' + j.target;
    if (chains.has(key)) j.from.jumps.push({ chain: key });
  }
  walkGraph(chains, b);
  if (!sawNat) b.warn('inventory_no_backends', 'no nat table: no DNAT rules, so no backends');
  else if (b.nodes.length === 0) b.warn('inventory_no_backends', 'the nat table has no DNAT rules');
  return b.finish('iptables-save', 'iptables-save text (a "*table" line, then chains and -A rules)');
}
