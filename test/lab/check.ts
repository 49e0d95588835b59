/**
 * Structural checks of one lab case folder, shared by the test on the committed fixtures and
 * the test that runs a fresh lab. Each check returns problems as lines; an empty list passes.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { forEachFrame } from '../../src/capture/index.js';
import { formatEndpoint, normalizeIP, parseEndpoint } from '../../src/core/address.js';
import { Anomalies, type Warning } from '../../src/core/anomalies.js';
import { parseTime } from '../../src/core/time.js';
import { Decoder, newPacket } from '../../src/decode/decoder.js';
import { type CtEntry, parseConntrackText, parseConntrackXml, parseSippMessages } from './parse.js';
import { LB_IF } from './topology.js';
import { deriveTruth, type Truth } from './truth.js';

export const CONNTRACK_FORMS = ['.txt', '.extended.txt', '.xml', '.ktimestamp.txt'] as const;

export function requiredFiles(): string[] {
  const out = ['truth.json', 'inventory.json', 'nft-before.json', 'nft-after.json', 'conntrack-events.txt'];
  for (const when of ['before', 'after']) {
    for (const f of CONNTRACK_FORMS) out.push(`conntrack-${when}${f}`);
    out.push(`nf_conntrack-${when}.txt`);
  }
  return out;
}

export function captureFileOf(dir: string): string | undefined {
  return ['lb-any.pcap', 'lb-interfaces.pcapng'].find((f) => existsSync(path.join(dir, f)));
}

export function readTruth(dir: string): Truth {
  return JSON.parse(readFileSync(path.join(dir, 'truth.json'), 'utf8')) as Truth;
}

export function isoToNs(iso: string): bigint {
  const t = parseTime(iso);
  if (!t) throw new Error(`not a time: ${iso}`);
  return BigInt(t.sec) * 1_000_000_000n + BigInt(t.nsec);
}

/** Every file present and non-empty; a capture; the UAC message logs. */
export function checkFiles(dir: string): string[] {
  const p: string[] = [];
  for (const f of requiredFiles()) {
    const full = path.join(dir, f);
    if (!existsSync(full)) p.push(`missing ${f}`);
    else if (statSync(full).size === 0) p.push(`empty ${f}`);
  }
  if (!captureFileOf(dir)) p.push('no capture (lb-any.pcap or lb-interfaces.pcapng)');
  const sipp = path.join(dir, 'sipp');
  const logs = existsSync(sipp) ? readdirSync(sipp).filter((f) => f.endsWith('.log')) : [];
  for (const kind of ['fixed', 'fresh', 'tcp', 'options'])
    for (const when of ['before', 'after']) if (!logs.includes(`${kind}-${when}.log`)) p.push(`missing sipp/${kind}-${when}.log`);
  return p;
}

export interface CaptureHeader {
  format: 'pcap' | 'pcapng';
  linkTypes: number[];
  /** Fractional digits of the timestamps (pcap magic, pcapng if_tsresol), per interface. */
  precision: number[];
  interfaceNames: string[];
}

/** Read the file header (pcap) or the section and interface blocks (pcapng) by hand. */
export function readCaptureHeader(file: string): CaptureHeader {
  const b = readFileSync(file);
  const magic = b.readUInt32LE(0);
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d || magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) {
    const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
    const nano = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
    const lt = (le ? b.readUInt32LE(20) : b.readUInt32BE(20)) & 0x0fffffff;
    return { format: 'pcap', linkTypes: [lt], precision: [nano ? 9 : 6], interfaceNames: [] };
  }
  if (b.readUInt32LE(0) !== 0x0a0d0d0a) throw new Error(`${file}: neither pcap nor pcapng`);
  const le = b.readUInt32LE(8) === 0x1a2b3c4d;
  const u32 = (o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const u16 = (o: number): number => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const h: CaptureHeader = { format: 'pcapng', linkTypes: [], precision: [], interfaceNames: [] };
  for (let off = 0; off + 12 <= b.length; ) {
    const type = u32(off);
    const len = u32(off + 4);
    if (len < 12 || off + len > b.length) throw new Error(`${file}: bad block length ${len} at ${off}`);
    if (type === 1) {
      h.linkTypes.push(u16(off + 8));
      let precision = 6;
      let name = '';
      for (let o = off + 16; o + 4 <= off + len - 4; ) {
        const code = u16(o);
        const olen = u16(o + 2);
        if (code === 0) break;
        if (code === 2) name = b.toString('utf8', o + 4, o + 4 + olen);
        if (code === 9) {
          const r = b[o + 4]!;
          precision = r & 0x80 ? Math.floor((r & 0x7f) * Math.log10(2)) : r;
        }
        o += 4 + ((olen + 3) & ~3);
      }
      h.precision.push(precision);
      h.interfaceNames.push(name);
    }
    off += len;
  }
  return h;
}

/** The capture has the link types the lab promises; the project's reader and decoder see no anomaly. */
export async function checkCapture(dir: string): Promise<string[]> {
  const p: string[] = [];
  const name = captureFileOf(dir);
  if (!name) return ['no capture'];
  const file = path.join(dir, name);
  const h = readCaptureHeader(file);
  if (name.endsWith('.pcap')) {
    if (h.format !== 'pcap') p.push(`${name}: not a pcap file`);
    if (h.linkTypes[0] !== 276) p.push(`${name}: link type ${h.linkTypes[0]}, expected 276 (LINUX_SLL2)`);
  } else {
    if (h.format !== 'pcapng') p.push(`${name}: not a pcapng file`);
    if (h.linkTypes.some((l) => l !== 1)) p.push(`${name}: link types ${h.linkTypes.join(',')}, expected Ethernet (1) on every interface`);
    if (h.precision.some((x) => x !== 9)) p.push(`${name}: timestamp precision ${h.precision.join(',')}, expected nanoseconds`);
    const want = Object.values(LB_IF);
    if (want.some((w) => !h.interfaceNames.includes(w))) p.push(`${name}: interfaces ${h.interfaceNames.join(',')}, expected ${want.join(',')}`);
  }
  const anomalies = new Anomalies();
  const warnings: Warning[] = [];
  const decodeAnomalies = new Anomalies();
  const dec = new Decoder({ anomalies: decodeAnomalies });
  const pkt = newPacket();
  const frames = await forEachFrame([file], { anomalies, warnings, interfaces: [] }, (f) => {
    dec.decode(f, pkt);
  });
  if (frames < 50) p.push(`${name}: only ${frames} frames`);
  for (const a of anomalies.list()) p.push(`${name}: reader anomaly ${a.name} x${a.count} (${a.first ?? ''})`);
  for (const w of warnings) p.push(`${name}: reader warning ${w.code}: ${w.message}`);
  for (const a of decodeAnomalies.list()) p.push(`${name}: decode anomaly ${a.name} x${a.count} (${a.first ?? ''})`);
  // Every lost call was really on the wire at the LB (its Call-ID sits in the first fragment).
  const bytes = readFileSync(file);
  for (const id of readTruth(dir).lostCallIds) if (!bytes.includes(Buffer.from(`Call-ID: ${id}`))) p.push(`${name}: lost call ${id} not in the capture`);
  return p;
}

function canonical(e: CtEntry): { client: string; service: string; target: string; proto: string; id: number | undefined } {
  const n = (ip: string): string => normalizeIP(ip) ?? ip;
  return {
    proto: e.proto,
    client: formatEndpoint(n(e.orig.src), e.orig.sport),
    service: formatEndpoint(n(e.orig.dst), e.orig.dport),
    target: formatEndpoint(n(e.reply.src), e.reply.sport),
    id: e.id,
  };
}

export function conntrackForms(dir: string, when: 'before' | 'after'): { name: string; entries: ReturnType<typeof canonical>[] }[] {
  const forms = [...CONNTRACK_FORMS.map((f) => `conntrack-${when}${f}`), `nf_conntrack-${when}.txt`];
  return forms.map((name) => {
    const text = readFileSync(path.join(dir, name), 'utf8');
    const entries = name.endsWith('.xml') ? parseConntrackXml(text) : parseConntrackText(text);
    return { name, entries: entries.map(canonical) };
  });
}

/** truth.json agrees with every conntrack form, the inventory, the ruleset, the events and the sipp logs. */
export function checkTruth(dir: string): string[] {
  const p: string[] = [];
  const t = readTruth(dir);
  if (t.schema !== 'stalepin/lab-truth@1') p.push(`truth.json: schema ${t.schema}`);
  if (t.problems.length) p.push(...t.problems.map((x) => `truth.json records a problem: ${x}`));
  if (t.pinned.length !== 1) return [...p, `truth.json: ${t.pinned.length} pinned flows, expected 1`];
  const pin = t.pinned[0]!;
  if (pin.target !== t.deadBackend) p.push(`pinned target ${pin.target} is not the dead backend ${t.deadBackend}`);
  if (pin.client !== formatEndpoint(t.clientAddress, t.fixedPort)) p.push(`pinned client ${pin.client} is not the fixed port`);
  if (pin.lostCallIds.length === 0 || pin.lostCallIds.join() !== t.lostCallIds.join()) p.push('lost Call-IDs differ between pinned[0] and lostCallIds');

  for (const when of ['before', 'after'] as const) {
    for (const form of conntrackForms(dir, when)) {
      const e = form.entries.find((x) => x.proto === 'udp' && x.client === pin.client && x.service === t.service);
      if (!e) p.push(`${form.name}: no entry for the pinned tuple ${pin.client} -> ${t.service}`);
      else if (e.target !== t.deadBackend) p.push(`${form.name}: pinned tuple maps to ${e.target}, expected the dead backend ${t.deadBackend}`);
      else if (e.id !== undefined && e.id !== pin.conntrackId) p.push(`${form.name}: pinned entry id ${e.id}, truth says ${pin.conntrackId}`);
      if (when === 'after') {
        for (const f of [...t.mustNotFlag, ...t.staleEntries]) {
          const m = form.entries.find((x) => x.proto === f.transport && x.client === f.client && x.service === f.service);
          if (!m) p.push(`${form.name}: no entry for ${f.transport} ${f.client}`);
          else if (m.target !== f.target) p.push(`${form.name}: ${f.transport} ${f.client} maps to ${m.target}, truth says ${f.target}`);
        }
      }
    }
  }
  for (const f of t.mustNotFlag) {
    if (f.transport === 'udp' && f.target !== t.liveBackend) p.push(`must-not-flag UDP flow ${f.client} is not on the live backend`);
  }
  if (!t.mustNotFlag.some((f) => f.transport === 'tcp' && f.target === t.liveBackend)) p.push('no TCP flow on the live backend');

  // The entry was created before the failover: the NEW event carries its id and an earlier time.
  const failoverNs = isoToNs(t.failoverAt);
  const events = readFileSync(path.join(dir, 'conntrack-events.txt'), 'utf8').split('\n');
  const created = events.find((l) => /\[NEW\]/.test(l) && new RegExp(`\\bid=${pin.conntrackId}\\s*$`).test(l));
  const ts = created && /^\[(\d+)\.(\d{6})\]/.exec(created);
  if (!ts) p.push(`conntrack-events.txt: no NEW event for id ${pin.conntrackId}`);
  else if (BigInt(ts[1]!) * 1_000_000_000n + BigInt(ts[2]!) * 1000n >= failoverNs) p.push('pinned entry was created after the failover');

  const inv = JSON.parse(readFileSync(path.join(dir, 'inventory.json'), 'utf8')) as {
    nodes: { address: string; port?: number; name?: string; state: string; since?: string }[];
  };
  const node = (ep: string): (typeof inv.nodes)[number] | undefined => {
    const e = parseEndpoint(ep);
    return inv.nodes.find((n) => n.address === e?.ip && n.port === e?.port);
  };
  const dead = node(t.deadBackend);
  const live = node(t.liveBackend);
  if (dead?.state !== 'terminated' || dead.since !== t.terminatedAt) p.push('inventory.json: dead backend not terminated at truth.terminatedAt');
  if (live?.state !== 'active') p.push('inventory.json: live backend not active');

  const dnat = (name: string): string[] => {
    const j = JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as { nftables: { rule?: { expr: { dnat?: { addr: string } }[] } }[] };
    return j.nftables.flatMap((x) => x.rule?.expr.flatMap((e) => (e.dnat ? [e.dnat.addr] : [])) ?? []);
  };
  const deadIp = parseEndpoint(t.deadBackend)?.ip;
  const liveIp = parseEndpoint(t.liveBackend)?.ip;
  if (dnat('nft-before.json').join() !== `${deadIp},${deadIp}`) p.push(`nft-before.json: DNAT targets ${dnat('nft-before.json').join()}`);
  if (dnat('nft-after.json').join() !== `${liveIp},${liveIp}`) p.push(`nft-after.json: DNAT targets ${dnat('nft-after.json').join()}`);

  // Timer A as the client really sent it: 0.5, 1, 2, 4 s between copies of each lost INVITE.
  const logs = t.derivedFrom.filter((f) => f.startsWith('sipp/'));
  const msgs = logs.flatMap((f) => parseSippMessages(readFileSync(path.join(dir, f), 'utf8')));
  for (const id of t.lostCallIds) {
    const sent = msgs.filter((m) => m.callId === id && m.dir === 'sent' && m.method === 'INVITE').map((m) => Number(m.timeNs / 1_000_000n));
    const gaps = sent.slice(1).map((x, i) => (x - sent[i]!) / 1000);
    const want = [0.5, 1, 2, 4];
    if (gaps.length !== want.length || gaps.some((g, i) => Math.abs(g - want[i]!) > 0.25))
      p.push(`lost call ${id}: retransmission gaps ${gaps.join(', ')} s, expected ${want.join(', ')}`);
    if (msgs.some((m) => m.callId === id && m.dir === 'received')) p.push(`lost call ${id} received a response`);
  }

  // Derive the truth again from the committed evidence: it must come out the same.
  const again = deriveTruth({
    variant: t.variant,
    termination: t.termination,
    family: t.family === 'ipv4' ? 4 : 6,
    vip: t.vip,
    sipPort: parseEndpoint(t.service)!.port!,
    clientAddress: t.clientAddress,
    fixedPort: t.fixedPort,
    deadBackend: deadIp!,
    liveBackend: liveIp!,
    failoverAtNs: failoverNs,
    terminatedAtNs: isoToNs(t.terminatedAt),
    sippLogs: logs.map((name) => ({ name, text: readFileSync(path.join(dir, name), 'utf8') })),
    conntrackAfter: { name: 'conntrack-after.extended.txt', text: readFileSync(path.join(dir, 'conntrack-after.extended.txt'), 'utf8') },
    conntrackBefore: { name: 'conntrack-before.extended.txt', text: readFileSync(path.join(dir, 'conntrack-before.extended.txt'), 'utf8') },
  });
  const { recordedWith: _r, ...saved } = t;
  if (JSON.stringify(again) !== JSON.stringify(saved)) p.push('truth.json differs from the truth derived again from the case files');
  return p;
}

/** Every check, in order; the truth checks run only when every file is there. */
export async function checkCase(dir: string): Promise<string[]> {
  const files = checkFiles(dir);
  if (files.length) return files;
  return [...(await checkCapture(dir)), ...checkTruth(dir)];
}
