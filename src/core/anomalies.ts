/**
 * Named anomaly counters (DESIGN principle 6, Zeek's "weirds"). Names are stable snake_case
 * and feed reports and metrics. The first occurrence keeps its location so a report can say
 * where to look; later ones only count, so a hostile input cannot grow this table beyond the
 * number of distinct names the code defines.
 */
export interface AnomalyRecord {
  name: string;
  count: number;
  /** Where it was first seen, e.g. "capture.pcap at byte 1234". */
  first?: string;
}

export class Anomalies {
  private readonly table = new Map<string, AnomalyRecord>();

  add(name: string, first?: string, n = 1): void {
    const r = this.table.get(name);
    if (r) r.count += n;
    else this.table.set(name, first === undefined ? { name, count: n } : { name, count: n, first });
  }

  count(name: string): number {
    return this.table.get(name)?.count ?? 0;
  }

  get size(): number {
    return this.table.size;
  }

  /** Sorted by name, for stable output. */
  list(): AnomalyRecord[] {
    return [...this.table.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  merge(other: Anomalies): void {
    for (const r of other.table.values()) this.add(r.name, r.first, r.count);
  }
}

/**
 * Warnings are anomalies that also deserve a line on stderr (a file cut short, a reader that
 * stopped early). The core collects them; the CLI decides whether and how to print.
 */
export interface Warning {
  code: string;
  message: string;
  file?: string;
  offset?: number;
}
