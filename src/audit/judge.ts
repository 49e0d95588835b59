/**
 * Severity of a stale entry, and the sentences that explain it.
 *
 * "Still being refreshed" from a table: every packet of an assured UDP flow resets its timeout
 * to the stream timeout (nf_conntrack_udp_timeout_stream, 120 s by default), so
 * `stream timeout - remaining timeout` is how long ago the flow last carried a packet. An assured
 * entry whose last packet is at most `refreshedWithin` old (60 s by default) is being kept alive
 * by its client: a pin (critical). Live reads add a second read of the stale entries a few seconds
 * later: a timeout that went up, or a packet counter that grew, is a refresh seen directly. An
 * offloaded entry is forwarding in the fast path, which is refreshing by definition. IPVS has no
 * assured flag: every connection entry forwards, and its expiry restarts from the UDP timeout
 * (300 s by default) on each packet. Everything else stale is a warning; TCP is always a warning
 * (a stuck connection ends when either side gives up; a UDP pin never ends on its own).
 */
import type { Severity } from '../findings/types.js';
import type { StaleCandidate } from './rule.js';

export interface RefreshPolicy {
  /** The timeout an assured UDP entry gets on every packet (IPVS: its UDP timeout). */
  streamTimeoutS: number;
  /** Where that number came from, for the evidence ("sysctl", "--udp-stream-timeout", "default"). */
  streamTimeoutFrom: string;
  refreshedWithinS: number;
  /** The entries come from an IPVS connection table. */
  ipvs: boolean;
}

/** What a second read said about one entry. */
export interface RecheckResult {
  afterS: number;
  /** The entry was not in the second read (expired or deleted meanwhile). */
  gone: boolean;
  timeout: number;
  packets: number;
  /** The timeout went up, or the packet counter grew. */
  refreshed: boolean;
}

export interface Judgement {
  severity: Severity;
  /** The client is still sending into the entry. */
  refreshed: boolean;
  /** Seconds since the entry's last packet, when the timeout tells; -1 otherwise. */
  idleS: number;
  /** Why, in a few words, for the summary. */
  why: string;
}

export function judge(c: StaleCandidate, policy: RefreshPolicy, recheck?: RecheckResult): Judgement {
  const e = c.entry;
  if (c.row.protocol === 'tcp') return { severity: 'warning', refreshed: false, idleS: -1, why: `TCP ${e.state || 'connection'}` };
  const assured = e.assured || policy.ipvs;
  let idle = -1;
  if (assured && e.timeout >= 0) idle = Math.max(0, policy.streamTimeoutS - e.timeout);
  if (!assured) return { severity: 'warning', refreshed: false, idleS: idle, why: e.unreplied ? 'never answered, not assured' : 'not assured' };
  if (e.offload || e.hwOffload) return { severity: 'critical', refreshed: true, idleS: idle, why: 'offloaded: forwarding in the fast path' };
  if (recheck?.refreshed) return { severity: 'critical', refreshed: true, idleS: idle, why: `refreshed within ${fmtS(recheck.afterS)} s between two reads` };
  if (idle >= 0 && idle <= policy.refreshedWithinS) return { severity: 'critical', refreshed: true, idleS: idle, why: `last packet about ${idle} s before the read` };
  return {
    severity: 'warning',
    refreshed: false,
    idleS: idle,
    why: idle >= 0 ? `idle for about ${idle} s` : 'timeout not shown, refresh unknown',
  };
}

export function fmtS(s: number): string {
  return (Math.round(s * 10) / 10).toFixed(1);
}

/**
 * Whether a second read shows a refresh. The kernel prints the remaining timeout rounded down,
 * so an untouched entry read `gap` seconds later shows less than `t1 + 1 - gap`; anything at or
 * above that was reset by a packet. Counters (nf_conntrack_acct=1) settle it when present.
 */
export function refreshedBetween(t1: number, p1: number, t2: number, p2: number, gapS: number): boolean {
  if (p1 >= 0 && p2 >= 0 && p2 > p1) return true;
  if (t1 < 0 || t2 < 0) return false;
  if (gapS < 1) return false;
  return t2 >= t1 + 1 - gapS;
}
