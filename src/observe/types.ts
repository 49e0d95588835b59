/**
 * Observations: what the capture shows about forwarding, per INVITE transaction, aggregated
 * per flow (transport + client + address the client sent to) and per backend. Times are exact
 * stamps for printing plus a float `t` (seconds) used only for ordering and windows.
 */
import { formatIso } from '../core/time.js';

export interface Stamp {
  sec: number;
  nsec: number;
  precision: number;
}

/** Float seconds of a time given by its parts: what tOf gives, for code that keeps no Stamp. */
export function secondsOf(sec: number, nsec: number): number {
  return sec + nsec * 1e-9;
}

export function tOf(s: Stamp): number {
  return secondsOf(s.sec, s.nsec);
}

export function isoOf(s: Stamp | undefined): string | null {
  return s ? formatIso(s.sec, s.nsec, s.precision) : null;
}

export function stamp(sec: number, nsec: number, precision: number): Stamp {
  return { sec, nsec, precision };
}

export function earlier(a: Stamp | undefined, b: Stamp): Stamp {
  return a === undefined || tOf(b) < tOf(a) ? b : a;
}

export function later(a: Stamp | undefined, b: Stamp): Stamp {
  return a === undefined || tOf(b) > tOf(a) ? b : a;
}

/** How the backend of an INVITE was determined. */
export type ForwardingHow = 'egress-copy' | 'reply-path' | 'direct';

/** One INVITE client transaction as the analyzer keeps it (only unanswered ones are stored). */
export interface InviteRecord {
  callId: string;
  at: Stamp;
  t: number;
  /** Backend it was forwarded to, when known. */
  target: string | undefined;
  how: ForwardingHow | undefined;
  /** Copies of the request seen at the client's hop (1 + retransmissions). */
  sent: number;
  /** Timer B ran out (true) or the capture ended first (false). */
  timedOut: boolean;
}

export interface TargetUse {
  target: string;
  how: ForwardingHow;
  invites: number;
  answered: number;
  unanswered: number;
  first: Stamp;
  last: Stamp;
  lastAnswered: Stamp | undefined;
}

export interface Flow {
  transport: 'udp' | 'tcp';
  /** "ip:port" of the client and of the address it sent to (the VIP, or a backend seen directly). */
  client: string;
  clientIp: string;
  dst: string;
  invites: number;
  answered: number;
  /** INVITE transactions with no response at all. */
  unanswered: number;
  /** Distinct Call-IDs among its INVITEs (bounded count: counts up to the cap). */
  calls: number;
  first: Stamp;
  last: Stamp;
  /** Per backend it was forwarded to, in order of first use (an array: most flows have one, and a Map costs more than the flow). */
  targets: TargetUse[];
  /** INVITEs seen arriving with no forwarded copy and no response from a backend. */
  notForwarded: number;
  /** Unanswered INVITE transactions, in order of arrival (bounded, see omitted). */
  lost: InviteRecord[];
  lostOmitted: number;
  /** Last INVITE whose target was seen (egress copy or reply path). */
  lastForwarded: { target: string; at: Stamp; t: number } | undefined;
  /** Last INVITE that got any response. */
  lastAnsweredT: number;
}

export interface BackendActivity {
  address: string;
  /** Last time it sent a SIP message. */
  lastHeard: Stamp | undefined;
  firstHeard: Stamp | undefined;
  messagesSent: number;
  /** ICMP destination unreachable about it (from it, or from a router about it). */
  icmp: { first: Stamp; count: number; code: number; type: number; from: string } | undefined;
  invites: number;
  unanswered: number;
}
