/**
 * Conntrack dumps and event streams as facts for the rules. Every form of one table (default,
 * extended, xml, /proc, ktimestamp) yields the same tuples; when only some forms carry their own
 * time (ktimestamp, events), the others inherit it from a form with the same tuple set, because a
 * file's modification time says when it was copied, not when the table was read.
 */
import { parseConntrackFile, type ParseSummary } from '../conntrack/parse.js';
import type { ConntrackEntry } from '../conntrack/entry.js';
import type { Warning } from '../core/anomalies.js';
import type { Timestamp } from '../core/time.js';
import type { ConntrackFact } from '../findings/facts.js';
import { stamp } from '../observe/types.js';

export interface LoadedConntrack {
  facts: ConntrackFact[];
  files: { file: string; format: string; entries: number; snapshot: string | null; snapshotSource: string; events: boolean }[];
  warnings: Warning[];
}

/** One conntrack entry or event as a rule fact (watch converts its live events with it too). */
export function toFact(e: ConntrackEntry, file: string, events: boolean): ConntrackFact | undefined {
  if (!e.orig.src || !e.reply.src || e.orig.sport < 0) return undefined;
  const fact: ConntrackFact = {
    source: events ? 'conntrack-event' : 'conntrack',
    proto: e.proto,
    client: e.client,
    service: e.service,
    target: e.target,
    family: e.family === 'ipv6' ? 'ipv6' : 'ipv4',
    assured: e.assured,
    unreplied: e.unreplied,
    timeout: e.timeout,
    zone: e.zone > 0 ? e.zone : 0,
    event: e.event,
    file,
    line: e.line,
    packets: e.orig.packets,
  };
  if (e.startSec >= 0) fact.start = stamp(e.startSec, e.startNsec, e.startPrecision);
  if (e.timeSec >= 0) {
    fact.at = stamp(e.timeSec, e.timeNsec, e.timePrecision);
    fact.atSource = 'event';
  }
  return fact;
}

export async function loadConntrack(files: string[], at: Timestamp | undefined, signal?: AbortSignal): Promise<LoadedConntrack> {
  const perFile: { summary: ParseSummary; facts: ConntrackFact[]; signature: string }[] = [];
  for (const file of files) {
    const facts: ConntrackFact[] = [];
    let events = false;
    const summary = await parseConntrackFile(file, {
      file,
      ...(at ? { at } : {}),
      ...(signal ? { signal } : {}),
      onEntry: (e) => {
        if (e.event) events = true;
        const f = toFact(e, file, events);
        if (f) facts.push(f);
      },
    });
    const signature = events ? '' : facts.map((f) => `${f.proto}|${f.client}|${f.service}|${f.target}`).sort().join('\n');
    perFile.push({ summary, facts, signature });
  }
  // Same table, several forms: adopt the time of a form that carries its own.
  const dated = new Map<string, ParseSummary['snapshot']>();
  for (const p of perFile) if (p.signature && p.summary.snapshot.source === 'file') dated.set(p.signature, p.summary.snapshot);
  const out: LoadedConntrack = { facts: [], files: [], warnings: [] };
  for (const p of perFile) {
    let snap = p.summary.snapshot;
    let source: string = snap.source;
    const twin = p.signature ? dated.get(p.signature) : undefined;
    if (snap.source !== 'file' && twin) {
      snap = twin;
      source = 'file (same table in another form)';
    }
    for (const f of p.facts) {
      if (f.at === undefined && snap.time !== null) {
        f.at = stamp(snap.sec, snap.nsec, snap.precision);
        f.atSource = source;
      }
      out.facts.push(f);
    }
    out.files.push({
      file: p.summary.file,
      format: p.summary.format ?? 'unknown',
      entries: p.summary.entries,
      snapshot: snap.time,
      snapshotSource: source,
      events: p.signature === '' && p.facts.some((f) => f.event !== ''),
    });
    out.warnings.push(...p.summary.warnings);
  }
  return out;
}
