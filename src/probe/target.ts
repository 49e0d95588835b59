/**
 * Probe targets as the user types them: "host", "host:port", "ip:port", "[v6]:port", a bare
 * IPv6 address, optionally behind "sip:". Names are resolved once, at start: a canary whose
 * target moves under it would compare rounds against different servers.
 */
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { formatEndpoint, normalizeIP } from '../core/address.js';
import { badUsage, StalepinError } from '../core/errors.js';

export interface ProbeTarget {
  /** As given, for labels: "host:port" or "ip:port" (the default port added). */
  label: string;
  /** Host as typed (a name or an address), for the Request-URI and To. */
  host: string;
  /** Resolved address and port. */
  ip: string;
  port: number;
  /** "ip:port" / "[v6]:port". */
  address: string;
}

export const DEFAULT_PROBE_PORT = 5060;

const HOSTNAME = /^(?=.{1,253}$)[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*\.?$/;

/** Split a target into host and port without resolving it. Throws bad_usage when malformed. */
export function splitTarget(text: string): { host: string; port: number; isIp: boolean } {
  const t = text.trim().replace(/^sips?:/i, '');
  const bad = (why: string): StalepinError => badUsage(`target ${JSON.stringify(text)}: ${why}`);
  const port = (p: string | undefined): number => {
    if (p === undefined) return DEFAULT_PROBE_PORT;
    const n = Number(p);
    if (!/^\d{1,5}$/.test(p) || n < 1 || n > 65535) throw bad(`not a port number: ${JSON.stringify(p)}`);
    return n;
  };
  if (t.startsWith('[')) {
    const m = /^\[([^\]]*)\](?::(.*))?$/.exec(t);
    const ip = m ? normalizeIP(m[1]!) : undefined;
    if (!m || !ip || !ip.includes(':')) throw bad('not an IPv6 address in brackets');
    return { host: ip, port: port(m[2]), isIp: true };
  }
  if (t.split(':').length > 2) {
    const ip = normalizeIP(t);
    if (!ip) throw bad('not an address (HOST:PORT, IP:PORT or [IPv6]:PORT)');
    return { host: ip, port: DEFAULT_PROBE_PORT, isIp: true };
  }
  const colon = t.indexOf(':');
  const host = colon < 0 ? t : t.slice(0, colon);
  const p = colon < 0 ? undefined : t.slice(colon + 1);
  if (/^[\d.]+$/.test(host)) {
    const ip = normalizeIP(host);
    if (!ip) throw bad('not an IPv4 address');
    return { host: ip, port: port(p), isIp: true };
  }
  if (!HOSTNAME.test(host)) throw bad('not a host name or address');
  return { host: host.toLowerCase().replace(/\.$/, ''), port: port(p), isIp: false };
}

export async function resolveTarget(text: string): Promise<ProbeTarget> {
  const { host, port, isIp } = splitTarget(text);
  let ip = host;
  if (!isIp) {
    try {
      ip = (await lookup(host)).address;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'error';
      throw badUsage(`target ${JSON.stringify(text)}: cannot resolve ${host} (${code})`);
    }
  }
  return { label: formatEndpoint(host, port), host, ip, port, address: formatEndpoint(ip, port) };
}

/**
 * The local address the kernel would send from towards the target (a connected UDP socket
 * sends nothing): what goes into Via and Contact when no --bind address is given.
 */
export async function localAddressFor(ip: string, port: number): Promise<string> {
  const s = dgram.createSocket(ip.includes(':') ? 'udp6' : 'udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.connect(port, ip, () => resolve());
    });
    return s.address().address;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new StalepinError('bad_usage', `no route to ${formatEndpoint(ip, port)} (${code})`);
  } finally {
    s.close();
  }
}
