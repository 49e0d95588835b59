/**
 * The `inspect` report: a typed record built from a packet run and CaptureStats, rendered as
 * JSON (schema stalepin/inspect@1) or as terminal tables. Rendering never changes the record.
 */
import Table from 'cli-table3';
import type { AnomalyRecord, Warning } from '../core/anomalies.js';
import { linkTypeName } from '../core/linktypes.js';
import { formatIso } from '../core/time.js';
import type { CaptureStats, TransportCounts } from '../observe/capture-stats.js';
import type { PacketRunResult } from '../pipeline/packets.js';
import { visible } from './visible.js';

export interface InspectReport {
  schema: 'stalepin/inspect@1';
  files: { file: string; format: string; byteOrder: string; version: string; gzip: boolean; sections: number; bytes: number }[];
  interfaces: {
    index: number;
    file: string;
    section: number;
    id: number;
    linkType: number;
    linkTypeName: string;
    snapLen: number;
    precision: number;
    name?: string;
    packets: number;
    bytes: number;
  }[];
  packets: number;
  capturedBytes: number;
  wireBytes: number;
  truncatedPackets: number;
  first: string | null;
  last: string | null;
  /** Exact, as a decimal string with the capture's precision. */
  durationSeconds: string | null;
  network: { ipv4: number; ipv6: number; vlanTagged: number; fragmentsHeld: number; reassembled: number };
  transports: TransportCounts;
  sip: { udp: number; tcp: number; onSipPorts: number; byHeuristic: number };
  icmpUnreachable: number;
  unsupportedLinks: { interface: number; linkType: number; linkTypeName: string; frames: number }[];
  anomalies: AnomalyRecord[];
  warnings: Warning[];
  interrupted: boolean;
  /** The read error that stopped the run early, if any (the counts cover what came before it). */
  error?: string;
}

function duration(s: CaptureStats): string | null {
  if (s.packets === 0) return null;
  let sec = s.lastSec - s.firstSec;
  let ns = s.lastNsec - s.firstNsec;
  if (ns < 0) {
    sec -= 1;
    ns += 1e9;
  }
  const p = s.precision;
  return p > 0 ? `${sec}.${String(ns).padStart(9, '0').slice(0, p)}` : String(sec);
}

export function buildInspectReport(run: PacketRunResult, stats: CaptureStats): InspectReport {
  return {
    schema: 'stalepin/inspect@1',
    files: run.inputs.map((i) => ({
      file: i.file,
      format: i.format,
      byteOrder: i.byteOrder,
      version: i.version,
      gzip: i.gzip,
      sections: i.sections,
      bytes: i.bytesRead,
    })),
    interfaces: run.interfaces.map((c) => ({
      index: c.index,
      file: run.inputs[c.source]?.file ?? String(c.source),
      section: c.section,
      id: c.localId,
      linkType: c.linkType,
      linkTypeName: linkTypeName(c.linkType),
      snapLen: c.snapLen,
      precision: c.precision,
      ...(c.name !== undefined ? { name: c.name } : {}),
      packets: c.packets,
      bytes: c.bytes,
    })),
    packets: stats.packets,
    capturedBytes: stats.capturedBytes,
    wireBytes: stats.wireBytes,
    truncatedPackets: stats.truncated,
    first: stats.packets ? formatIso(stats.firstSec, stats.firstNsec, stats.precision) : null,
    last: stats.packets ? formatIso(stats.lastSec, stats.lastNsec, stats.precision) : null,
    durationSeconds: duration(stats),
    network: { ipv4: stats.ipv4, ipv6: stats.ipv6, vlanTagged: stats.vlanTagged, fragmentsHeld: stats.fragmentsHeld, reassembled: stats.reassembled },
    transports: { ...stats.transports },
    sip: { udp: stats.sipUdp, tcp: stats.sipTcp, onSipPorts: stats.sipOnPort, byHeuristic: stats.sipUdp + stats.sipTcp - stats.sipOnPort },
    icmpUnreachable: stats.icmpUnreachable,
    unsupportedLinks: run.unsupportedLinks.map((u) => ({ interface: u.ifIndex, linkType: u.linkType, linkTypeName: linkTypeName(u.linkType), frames: u.frames })),
    anomalies: run.anomalies.list(),
    warnings: run.warnings,
    interrupted: run.interrupted,
    ...(run.error ? { error: run.error.oneLine() } : {}),
  };
}

const plain = { chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' }, style: { head: [] as string[], border: [] as string[] } };

export function renderInspectTable(r: InspectReport): string {
  const out: string[] = [];
  const files = new Table({ head: ['file', 'format', 'byte order', 'version', 'gzip', 'sections', 'bytes'], ...plain });
  for (const f of r.files) files.push([visible(f.file), f.format, f.byteOrder, f.version, f.gzip ? 'yes' : 'no', f.sections, f.bytes]);
  out.push(files.toString());
  const ifs = new Table({ head: ['if', 'file', 'section', 'link type', 'snaplen', 'ts digits', 'name', 'packets', 'bytes'], ...plain });
  for (const i of r.interfaces) ifs.push([i.index, visible(i.file), i.section, `${i.linkTypeName} (${i.linkType})`, i.snapLen, i.precision, visible(i.name ?? ''), i.packets, i.bytes]);
  out.push(ifs.toString());
  const t = r.transports;
  const sum = new Table({ ...plain });
  sum.push(
    { packets: [String(r.packets)] },
    { 'captured bytes': [String(r.capturedBytes)] },
    { 'first packet': [r.first ?? '-'] },
    { 'last packet': [r.last ?? '-'] },
    { duration: [r.durationSeconds === null ? '-' : r.durationSeconds + ' s'] },
    { 'IPv4 / IPv6': [`${r.network.ipv4} / ${r.network.ipv6}`] },
    { 'VLAN tagged': [String(r.network.vlanTagged)] },
    { 'fragments held / reassembled': [`${r.network.fragmentsHeld} / ${r.network.reassembled}`] },
    { 'UDP / TCP / SCTP': [`${t.udp} / ${t.tcp} / ${t.sctp}`] },
    { 'ICMP / ICMPv6 (unreachable)': [`${t.icmp} / ${t.icmpv6} (${r.icmpUnreachable})`] },
    { 'other IP / not IP / unsupported link / malformed': [`${t.otherIp} / ${t.notIp} / ${t.unsupportedLink} / ${t.malformed}`] },
    { 'SIP over UDP / TCP': [`${r.sip.udp} / ${r.sip.tcp}`] },
    { 'SIP found off the SIP ports': [String(r.sip.byHeuristic)] },
  );
  out.push(sum.toString());
  if (r.anomalies.length) {
    const an = new Table({ head: ['anomaly', 'count', 'first seen'], ...plain });
    for (const a of r.anomalies) an.push([a.name, a.count, visible(a.first ?? '')]);
    out.push(an.toString());
  } else out.push('no anomalies');
  if (r.interrupted) out.push('interrupted: the counts cover only what was read');
  if (r.error) out.push(`stopped early: ${visible(r.error)}; the counts cover what was read before it`);
  return out.join('\n') + '\n';
}
