/**
 * The IPVS connection table, normalised to the same entry model as conntrack.
 *
 * `ipvsadm -Lnc` (ipvsadm's list_conn, numeric):
 *   IPVS connection entries
 *   pro expire state       source             virtual            destination   [pe name  pe_data]
 *   UDP 04:58  UDP         192.0.2.10:5060    203.0.113.11:5060  198.51.100.20:5060
 * /proc/net/ip_vs_conn (the kernel's table that ipvsadm reads):
 *   Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
 *   UDP C000020A 13C4 CB00710B 13C4 C6336414 13C4 UDP             298
 * (IPv6 addresses there are printed in full colon form.)
 *
 * source -> virtual is the original tuple (client -> service); destination is the real server the
 * connection is pinned to (the target). IPVS does not rewrite the client address in NAT or DR
 * mode, so the reply goes from the destination back to the source. "IP" rows with port 0 are
 * persistence templates: client address -> real server, for every port.
 */
import { parseEndpoint } from '../core/address.js';
import { canonical } from './addr.js';
import { protoNumber, type ConntrackEntry } from './entry.js';

export function isIpvsHeader(line: string): 'ipvs' | 'ipvs-proc' | '' {
  const t = line.trim();
  if (/^Pro\s+FromIP\s/.test(t)) return 'ipvs-proc';
  if (t === 'IPVS connection entries' || /^pro\s+expire\s+state\b/i.test(t)) return 'ipvs';
  return '';
}

function fillCommon(e: ConntrackEntry, pro: string, expire: number, state: string): string {
  const p = pro.toLowerCase();
  e.proto = p === 'ip' ? 'ip' : p;
  e.protoNum = p === 'ip' ? 0 : protoNumber(p);
  if (e.protoNum < 0) return `unknown IPVS protocol "${pro}"`;
  e.timeout = expire;
  e.state = state;
  return '';
}

function endpointInto(text: string, which: 'src' | 'dst', t: ConntrackEntry['orig']): boolean {
  const ep = parseEndpoint(text);
  if (!ep || ep.port === undefined) return false;
  if (which === 'src') {
    t.src = ep.ip;
    t.sport = ep.port;
  } else {
    t.dst = ep.ip;
    t.dport = ep.port;
  }
  return true;
}

/** One `ipvsadm -Lnc` row; '' or the reason it is not one. */
export function parseIpvsadmLine(line: string, e: ConntrackEntry): string {
  e.reset();
  const w = line.trim().split(/\s+/);
  if (w.length < 6) return 'too few columns for an IPVS connection';
  const [pro, expire, state, source, virt, dest] = w as [string, string, string, string, string, string];
  // "mm:ss" (ipvsadm) or plain seconds (some builds and hand-edited tables).
  const mm = /^(\d+):(\d{2})$/.exec(expire);
  const secs = mm ? Number(mm[1]) * 60 + Number(mm[2]) : /^\d+$/.test(expire) ? Number(expire) : -1;
  if (secs < 0) return 'bad expire column';
  const bad = fillCommon(e, pro, secs, state);
  if (bad) return bad;
  if (!endpointInto(source, 'src', e.orig) || !endpointInto(virt, 'dst', e.orig) || !endpointInto(dest, 'src', e.reply))
    return 'bad address column';
  e.reply.dst = e.orig.src;
  e.reply.dport = e.orig.sport;
  e.family = e.orig.src.includes(':') ? 'ipv6' : 'ipv4';
  return '';
}

function hexV4(h: string): string | undefined {
  if (!/^[0-9A-Fa-f]{8}$/.test(h)) return undefined;
  const v = parseInt(h, 16);
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

function hexPort(h: string): number {
  return /^[0-9A-Fa-f]{1,4}$/.test(h) ? parseInt(h, 16) : -1;
}

/** One /proc/net/ip_vs_conn row; '' or the reason. */
export function parseIpvsProcLine(line: string, e: ConntrackEntry): string {
  e.reset();
  const w = line.trim().split(/\s+/);
  if (w.length < 9) return 'too few columns for an ip_vs_conn row';
  const [pro, fip, fport, tip, tport, dip, dport, state, expires] = w as [string, string, string, string, string, string, string, string, string];
  if (!/^\d+$/.test(expires)) return 'bad Expires column';
  const bad = fillCommon(e, pro, Number(expires), state);
  if (bad) return bad;
  const addr = (t: string): string | undefined => (t.includes(':') ? canonical(t) : hexV4(t));
  const c = addr(fip);
  const v = addr(tip);
  const d = addr(dip);
  const cp = hexPort(fport);
  const vp = hexPort(tport);
  const dp = hexPort(dport);
  if (!c || !v || !d || cp < 0 || vp < 0 || dp < 0) return 'bad address or port column';
  e.orig.src = c;
  e.orig.sport = cp;
  e.orig.dst = v;
  e.orig.dport = vp;
  e.reply.src = d;
  e.reply.sport = dp;
  e.reply.dst = c;
  e.reply.dport = cp;
  e.family = c.includes(':') ? 'ipv6' : 'ipv4';
  return '';
}
