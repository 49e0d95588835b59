/**
 * The OPTIONS request the probe sends (RFC 3261 section 11 and 8.1.1): every mandatory header, a
 * fresh branch per transaction and rport (RFC 3581) so a server behind NAT answers the address
 * and port the request really came from, which is the whole point of a fixed-port probe.
 */
import { randomBytes } from 'node:crypto';
import { badUsage } from '../core/errors.js';
import { MAGIC_COOKIE } from '../sip/message.js';

export type ProbeTransport = 'udp' | 'tcp';

export interface OptionsRequest {
  /** Request-URI, e.g. "sip:203.0.113.10:5060". */
  requestUri: string;
  /** From and To URIs (without angle brackets). */
  from: string;
  to: string;
  transport: ProbeTransport;
  /** The local address and port the request leaves from (Via sent-by, Contact). */
  localIp: string;
  localPort: number;
  branch: string;
  callId: string;
  fromTag: string;
  cseq: number;
  userAgent: string;
}

function hex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/** A branch that starts with the RFC 3261 magic cookie and is unique per transaction (96 random bits). */
export function newBranch(): string {
  return MAGIC_COOKIE + hex(12);
}

export function newTag(): string {
  return hex(6);
}

export function newCallId(localIp: string): string {
  return `${hex(12)}@${hostPart(localIp)}`;
}

/** An address as it appears in a SIP URI or Via: IPv6 in brackets. */
export function hostPart(ip: string): string {
  return ip.includes(':') && !ip.startsWith('[') ? `[${ip}]` : ip;
}

/**
 * A URI given on the command line (--from, --to): a SIP, SIPS or tel URI with no whitespace,
 * angle brackets or line breaks, which would let it break out of its header.
 */
export function checkUri(option: string, uri: string): string {
  if (!/^(sips?|tel):[^\s<>"]+$/i.test(uri)) throw badUsage(`${option}: not a SIP URI (sip:user@host[:port]): ${JSON.stringify(uri)}`);
  return uri;
}

export function buildOptions(r: OptionsRequest): Buffer {
  const t = r.transport.toUpperCase();
  const host = hostPart(r.localIp);
  const contactParams = r.transport === 'tcp' ? ';transport=tcp' : '';
  const lines = [
    `OPTIONS ${r.requestUri} SIP/2.0`,
    `Via: SIP/2.0/${t} ${host}:${r.localPort};branch=${r.branch};rport`,
    'Max-Forwards: 70',
    `From: <${r.from}>;tag=${r.fromTag}`,
    `To: <${r.to}>`,
    `Call-ID: ${r.callId}`,
    `CSeq: ${r.cseq} OPTIONS`,
    `Contact: <sip:stalepin@${host}:${r.localPort}${contactParams}>`,
    'Accept: application/sdp',
    `User-Agent: ${r.userAgent}`,
    'Content-Length: 0',
    '',
    '',
  ];
  return Buffer.from(lines.join('\r\n'), 'latin1');
}
