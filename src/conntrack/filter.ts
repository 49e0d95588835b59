/**
 * Entry filters for `stalepin conntrack` and for library callers: protocol, service, target,
 * state and flags, compiled once into one predicate so the per-entry cost is a few compares.
 */
import { StalepinError } from '../core/errors.js';
import { parseEndpoint } from '../core/address.js';
import { FLAG_NAMES, protoNumber, type ConntrackEntry } from './entry.js';

export interface EntryFilter {
  /** Protocol names or numbers ("udp", "17"). */
  proto?: string[];
  /** Service addresses: "ip", "ip:port", "[v6]:port". */
  service?: string[];
  /** Target (backend) addresses, same syntax. */
  target?: string[];
  /** tcp/sctp/IPVS state names, any case. */
  state?: string[];
  /** Flags that must hold; "!flag" or "no-flag" for must not. */
  flag?: string[];
}

interface AddrMatch {
  ip: string;
  port: number; // -1: any
}

function addrList(what: string, list: string[] | undefined): AddrMatch[] | undefined {
  if (!list || list.length === 0) return undefined;
  return list.map((t) => {
    const ep = parseEndpoint(t);
    if (!ep) throw new StalepinError('bad_usage', `--${what}: not an address or ip:port: ${t}`);
    return { ip: ep.ip, port: ep.port ?? -1 };
  });
}

function matches(list: AddrMatch[], ip: string, port: number): boolean {
  for (const m of list) if (m.ip === ip && (m.port < 0 || m.port === port)) return true;
  return false;
}

export function compileFilter(f: EntryFilter): (e: ConntrackEntry) => boolean {
  const protos = f.proto?.length
    ? f.proto.map((p) => {
        const t = p.trim().toLowerCase();
        if (/^\d+$/.test(t)) return Number(t);
        const n = protoNumber(t);
        if (n < 0 && t !== 'unknown' && t !== 'ip') throw new StalepinError('bad_usage', `--proto: unknown protocol: ${p}`);
        return t;
      })
    : undefined;
  const services = addrList('service', f.service);
  const targets = addrList('target', f.target);
  const states = f.state?.length ? new Set(f.state.map((s) => s.toUpperCase())) : undefined;
  const want: string[] = [];
  const wantNot: string[] = [];
  for (const raw of f.flag ?? []) {
    const t = raw.trim().toLowerCase().replace(/-/g, '_');
    const neg = t.startsWith('!') || t.startsWith('no_');
    const name = t.replace(/^!|^no_/, '');
    if (!(FLAG_NAMES as readonly string[]).includes(name)) throw new StalepinError('bad_usage', `--flag: unknown flag: ${raw} (known: ${FLAG_NAMES.join(', ')})`);
    (neg ? wantNot : want).push(name);
  }
  if (!protos && !services && !targets && !states && want.length === 0 && wantNot.length === 0) return () => true;
  return (e) => {
    if (protos) {
      let ok = false;
      for (const p of protos) if (typeof p === 'number' ? e.protoNum === p : e.proto === p || protoNumber(p) === e.protoNum) ok = true;
      if (!ok) return false;
    }
    if (services && !matches(services, e.orig.dst, e.orig.dport)) return false;
    if (targets && !matches(targets, e.reply.src, e.reply.sport)) return false;
    if (states && !states.has(e.state.toUpperCase())) return false;
    for (const w of want) if (!e.hasFlag(w)) return false;
    for (const w of wantNot) if (e.hasFlag(w)) return false;
    return true;
  };
}
