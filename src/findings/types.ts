/**
 * The findings contract of DESIGN.md ("Contracts that others rely on"): kinds, severities,
 * evidence sources and target states. Reports and metrics consume these records; nothing here
 * knows how they are printed.
 */
export type FindingKind = 'pinned-flow' | 'stale-conntrack-entry' | 'unanswered-invites' | 'target-unresponsive';
export type Severity = 'critical' | 'warning' | 'info';
export type TargetState = 'active' | 'draining' | 'terminated' | 'unresponsive' | 'unknown';
export type EvidenceSource = 'egress-copy' | 'conntrack' | 'conntrack-event' | 'last-known-mapping' | 'icmp-unreachable' | 'no-response' | 'inventory';

export const SEVERITY_RANK: Record<Severity, number> = { info: 1, warning: 2, critical: 3 };

export interface Evidence {
  source: EvidenceSource;
  /** One sentence a person can check against the input. */
  detail: string;
  /** Where: "capture.pcap", "conntrack-after.txt line 12". */
  file?: string;
  /** ISO 8601 time of the observation, when it has one. */
  at?: string;
}

export interface Target {
  address: string;
  state: TargetState;
  stateSource: 'inventory' | 'inferred';
  /** When it entered that state (ISO 8601), null when unknown. */
  since: string | null;
  name?: string;
  /** INVITE transactions forwarded to it, and how many of them got no response. */
  invites: number;
  unanswered: number;
  /** Last time it sent anything (ISO 8601), null when never seen sending. */
  lastHeard: string | null;
}

export interface Finding {
  kind: FindingKind;
  severity: Severity;
  transport: 'udp' | 'tcp';
  /** "ip:port" of the client tuple (original source). */
  client: string;
  /** "ip:port" of the service address (VIP), null when not known. */
  service: string | null;
  /** "ip:port" of the backend the flow is (or would be) forwarded to, null when unknown. */
  target: string | null;
  targetState: TargetState;
  /** First and last affected observation (ISO 8601). */
  since: string | null;
  until: string | null;
  /** Every affected INVITE's Call-ID (may be cut at the bound; see callIdsOmitted). */
  callIds: string[];
  callIdsOmitted?: number;
  /** INVITE requests seen including retransmissions, for the affected calls. */
  retransmissions?: number;
  /** The same client tuple was reused for several calls (the fixed-source-port signature). */
  tupleReused?: boolean;
  evidence: Evidence[];
  /** The exact fix, as a command or an action. */
  remedy: string;
  /** One line summary for tables. */
  summary: string;
}
