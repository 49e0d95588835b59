/**
 * Which conntrack output form a file holds, decided from its content (never its name), per
 * file. The structural forms (XML, save, IPVS) are told apart by their first meaningful line;
 * the key=value forms share one grammar and are told apart by what the first entry shows:
 * an event tag, the "ipv4 2" prefix, and zone=0 (printed only by the kernel's /proc printer).
 */
import type { ConntrackFormat } from './entry.js';
import { isIpvsHeader } from './ipvs.js';
import { isSaveLine } from './save.js';
import type { TextLineInfo } from './text.js';

/** The families a first line can place a file in; 'text' is refined by refineText. */
export type FormatFamily = 'text' | 'xml' | 'save' | 'ipvs' | 'ipvs-proc';

/** Lines that are part of conntrack's output but carry no entry. */
export function isIgnorable(line: string): boolean {
  const t = line.trim();
  if (t === '') return true;
  // "conntrack v1.4.7 (conntrack-tools): 16 flow entries have been shown." (stderr, often
  // captured with 2>&1), and "... flow events have been shown." when -E is stopped.
  if (t.startsWith('conntrack v') && / flow (entries|events|expectations) ha(ve|s) been shown\.?$/.test(t)) return true;
  if (t.startsWith('#')) return true;
  return false;
}

export function detectFamily(line: string): FormatFamily | undefined {
  const t = line.trimStart();
  if (t.startsWith('<?xml') || t.startsWith('<conntrack') || t.startsWith('<flow')) return 'xml';
  if (isSaveLine(t)) return 'save';
  const ipvs = isIpvsHeader(t);
  if (ipvs) return ipvs;
  if (/^(\[[\d.]+\]\s*)?(\[(NEW|UPDATE|DESTROY)\]\s*)?(ipv[46]\s+\d+\s+)?[a-z][a-z0-9-]*\s+\d+\s/.test(t)) return 'text';
  // An IPVS row without the header (someone cut it off).
  if (/^(TCP|UDP|SCTP|IP)\s+\d+:\d{2}\s+\S+\s+\S+:\d+\s+\S+:\d+\s+\S+:\d+/.test(t)) return 'ipvs';
  return undefined;
}

export function refineText(info: TextLineInfo): ConntrackFormat {
  if (info.event) return 'events';
  if (info.l3 && info.zone0) return 'proc';
  if (info.l3) return 'extended';
  return 'default';
}

/** Detect the format of a whole text held in memory (tests, small inputs). */
export function detectFormat(text: string): ConntrackFormat | undefined {
  for (const line of text.split('\n')) {
    if (isIgnorable(line)) continue;
    const f = detectFamily(line);
    if (f === undefined) continue;
    if (f === 'xml') return /<flow type="/.test(text) ? 'xml-events' : 'xml';
    if (f !== 'text') return f;
    const info: TextLineInfo = { l3: /^\s*(\[[\d.]+\]\s*)?(\[\w+\]\s*)?ipv[46]\s/.test(line), event: /^\s*(\[[\d.]+\]\s*)?\[(NEW|UPDATE|DESTROY)\]/.test(line), zone0: / zone=0 /.test(line), error: '' };
    return refineText(info);
  }
  return undefined;
}
