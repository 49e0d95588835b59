/**
 * Per service and target counts over any number of entries: how many flows the tracker pins
 * from each service address to each backend, how many are assured, how many never saw a reply
 * (the signature of a backend that is gone), by protocol. Keyed by nested maps on the raw
 * fields, so adding an entry allocates nothing once its row exists; rows grow with distinct
 * (service, target) pairs, not with entries.
 */
import { formatEndpoint } from '../core/address.js';
import type { ConntrackEntry } from './entry.js';

export interface SummaryRow {
  service: string;
  target: string;
  entries: number;
  assured: number;
  unreplied: number;
  /** Entries whose reply is also source-NATed. */
  snat: number;
  byProto: Record<string, number>;
}

export interface SummaryTotals {
  entries: number;
  assured: number;
  unreplied: number;
  services: number;
  targets: number;
  byProto: Record<string, number>;
}

function ep(ip: string, port: number): string {
  return port >= 0 ? formatEndpoint(ip, port) : ip.includes(':') ? `[${ip}]` : ip;
}

/** Row under construction: protocol counts by number, names resolved once at the end. */
interface Acc {
  row: SummaryRow;
  byNum: Map<number, number>;
}

export class ConntrackSummary {
  private readonly byService = new Map<string, Map<number, Map<string, Map<number, Acc>>>>();
  private readonly list: Acc[] = [];
  /** Name printed for each protocol number (the first seen). */
  private readonly protoNames = new Map<number, string>();

  add(e: ConntrackEntry): void {
    let a = this.byService.get(e.orig.dst);
    if (!a) this.byService.set(e.orig.dst, (a = new Map()));
    let b = a.get(e.orig.dport);
    if (!b) a.set(e.orig.dport, (b = new Map()));
    let c = b.get(e.reply.src);
    if (!c) b.set(e.reply.src, (c = new Map()));
    let acc = c.get(e.reply.sport);
    if (!acc) {
      acc = { row: { service: ep(e.orig.dst, e.orig.dport), target: ep(e.reply.src, e.reply.sport), entries: 0, assured: 0, unreplied: 0, snat: 0, byProto: {} }, byNum: new Map() };
      c.set(e.reply.sport, acc);
      this.list.push(acc);
    }
    const row = acc.row;
    row.entries++;
    if (e.assured) row.assured++;
    if (e.unreplied) row.unreplied++;
    if (e.reply.dst !== e.orig.src || e.reply.dport !== e.orig.sport) row.snat++;
    const k = e.protoNum;
    acc.byNum.set(k, (acc.byNum.get(k) ?? 0) + 1);
    if (!this.protoNames.has(k)) this.protoNames.set(k, e.proto);
  }

  private finished(): SummaryRow[] {
    for (const a of this.list) {
      const by: Record<string, number> = {};
      for (const [k, n] of a.byNum) {
        const name = this.protoNames.get(k) ?? String(k);
        by[name] = (by[name] ?? 0) + n;
      }
      a.row.byProto = by;
    }
    return this.list.map((a) => a.row);
  }

  /** Rows sorted by service, then by entries (most first), then target. */
  rows(): SummaryRow[] {
    return this.finished().sort((x, y) => (x.service < y.service ? -1 : x.service > y.service ? 1 : y.entries - x.entries || (x.target < y.target ? -1 : x.target > y.target ? 1 : 0)));
  }

  totals(): SummaryTotals {
    const t: SummaryTotals = { entries: 0, assured: 0, unreplied: 0, services: 0, targets: 0, byProto: {} };
    const services = new Set<string>();
    const targets = new Set<string>();
    for (const r of this.finished()) {
      t.entries += r.entries;
      t.assured += r.assured;
      t.unreplied += r.unreplied;
      services.add(r.service);
      targets.add(r.target);
      for (const [p, n] of Object.entries(r.byProto)) t.byProto[p] = (t.byProto[p] ?? 0) + n;
    }
    t.services = services.size;
    t.targets = targets.size;
    return t;
  }
}
