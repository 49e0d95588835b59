/**
 * A conntrack entry or event reduced to what the rules need. The conntrack layer produces full
 * entries; this keeps findings independent of the dump formats.
 */
import type { Stamp } from '../observe/types.js';

export interface ConntrackFact {
  source: 'conntrack' | 'conntrack-event';
  proto: string;
  /** "ip:port" of the original source (client), original destination (service), reply source (target). */
  client: string;
  service: string;
  target: string;
  family: 'ipv4' | 'ipv6';
  assured: boolean;
  unreplied: boolean;
  /** Seconds left, -1 unknown. */
  timeout: number;
  zone: number;
  /** Creation time (kernel timestamp extension), when known. */
  start?: Stamp;
  /** Snapshot or event time. */
  at?: Stamp;
  /** How the snapshot time was known: "file" (its own timestamps), "--at", "mtime", "event". */
  atSource?: string;
  event: '' | 'new' | 'update' | 'destroy';
  file: string;
  line: number;
  packets: number;
}
