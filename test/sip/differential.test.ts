/**
 * Differential against tshark: for every public capture in ../shared/captures and every lab
 * fixture, the multiset of (Call-ID, CSeq, method or status code) of the SIP messages we report
 * equals what tshark's SIP dissector reports (fields sip.Call-ID, sip.CSeq, sip.Method,
 * sip.Status-Code), except that SIP quoted inside ICMP errors is filtered out of tshark's side
 * (-Y 'sip && !icmp && !icmpv6'): a quoted datagram is evidence for the observer, not a message
 * on the wire (ipfixprobe/sip.pcap and the lab captures have them). tshark is run with -T pdml
 * rather than -T fields so that a frame carrying several SIP messages (TCP) keeps each message's
 * fields together; the fields are the same.
 * Skips with a printed reason when tshark or the captures are missing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSip } from '../../src/sip/source.js';

const repoRoot = resolve(__dirname, '..', '..');
const capturesDir = resolve(repoRoot, '..', 'shared', 'captures');
const labDir = resolve(repoRoot, 'fixtures', 'lab');

function haveTshark(): boolean {
  try {
    execFileSync('tshark', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function listCaptures(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(pcap|pcapng|cap)(\.gz)?$/.test(f)) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

type Expect =
  /** Out of scope or a deliberate bound: what we report is a subset of tshark's. */
  | { kind: 'subset'; why: string }
  /** Corrupted bytes normalised differently: only the message counts are compared. */
  | { kind: 'count'; why: string; tolerance: number };

/** Where tshark and we deliberately differ, by file name (relative to the captures folder). */
const EXCEPTIONS: Record<string, Expect> = {
  'heplify/sip_sctp.pcap': { kind: 'subset', why: 'SIP over SCTP is out of scope' },
  'heplify/sip_tcp_websocket.pcap': { kind: 'subset', why: 'SIP over WebSocket is out of scope (the UDP legs match)' },
  'heplify/erspan_sip_ipv4_udp.pcapng': { kind: 'subset', why: 'ERSPAN (GRE) encapsulation is out of scope' },
  'nDPI/gre.pcapng': { kind: 'subset', why: 'GRE encapsulation is out of scope' },
  'sngrep/ipip.pcap': { kind: 'subset', why: 'IP-in-IP encapsulation is out of scope (the plain legs match)' },
  'arkime/gtp-iphone.pcap': { kind: 'subset', why: 'GTP-U tunnelled traffic is out of scope' },
  'nDPI/http_on_sip_port.pcap': { kind: 'subset', why: 'HTTP on port 5060: tshark labels it SIP with no fields, we do not report non-SIP' },
  'suricata-verify/sip-body-large__sip-body-large.pcap': { kind: 'subset', why: 'a 64 KiB body is above our documented 65535-byte message bound (sip_message_too_large)' },
  'nDPI/fuzz-2006-06-26-2594.pcap': { kind: 'count', why: 'fuzzed bytes inside Call-ID/CSeq: tshark keeps raw Latin-1 and partial fields, we decode UTF-8 and drop malformed CSeq', tolerance: 3 },
};

/** Extra tshark/stalepin arguments for a file. */
const PORTS: Record<string, { tshark: string[]; sipPorts: number[] }> = {
  'heplify/sip_ipv4_tcp_fragmented.pcap': { tshark: ['-d', 'tcp.port==6060,sip'], sipPorts: [5060, 5080, 6060] },
};

function unxml(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|quot|amp|lt|gt|apos);/gi, (_, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return { quot: '"', amp: '&', lt: '<', gt: '>', apos: "'" }[e.toLowerCase()]!;
  });
}

function normCseq(s: string): string {
  const m = /^\s*(\d+)\s+(\S+)/.exec(s);
  return m ? `${Number(m[1])} ${m[2]}` : '';
}

function tsharkKeys(file: string, extra: string[]): Map<string, number> {
  const xml = execFileSync('tshark', ['-r', file, '-Y', 'sip && !icmp && !icmpv6', '-T', 'pdml', ...extra], { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] });
  const keys = new Map<string, number>();
  // Top-level protocols are indented by two spaces; nested ones (_ws.malformed) are not boundaries.
  const chunks = xml.split('\n  <proto name="sip"').slice(1);
  for (const c of chunks) {
    const body = c.split(/\n {2}<proto |\n<\/packet>/)[0]!;
    const field = (name: string): string => {
      const m = new RegExp(`<field name="${name.replace('.', '\\.')}"[^>]*? show="([^"]*)"`).exec(body);
      return m ? unxml(m[1]!) : '';
    };
    const kind = field('sip.Method') || field('sip.Status-Code');
    const k = `${field('sip.Call-ID')}|${normCseq(field('sip.CSeq'))}|${kind}`;
    keys.set(k, (keys.get(k) ?? 0) + 1);
  }
  return keys;
}

async function ourKeys(file: string, sipPorts?: number[]): Promise<Map<string, number>> {
  const keys = new Map<string, number>();
  await runSip({ files: [file], ...(sipPorts ? { sipPorts } : {}) }, {
    onMessage(msg) {
      const k = `${msg.callId}|${msg.cseqNum >= 0 ? `${msg.cseqNum} ${msg.cseqMethod}` : ''}|${msg.method || msg.statusCode}`;
      keys.set(k, (keys.get(k) ?? 0) + 1);
    },
  });
  return keys;
}

const total = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);

const tshark = haveTshark();
const files = [...listCaptures(capturesDir).map((f) => ({ f, name: f.slice(capturesDir.length + 1) })), ...listCaptures(labDir).map((f) => ({ f, name: 'lab/' + f.slice(labDir.length + 1) }))];

describe('SIP messages: differential against tshark', () => {
  if (!tshark || files.length === 0) {
    it.skip(`skipped: ${!tshark ? 'tshark not installed' : `no captures in ${capturesDir} or ${labDir}`}`, () => undefined);
    if (!tshark) console.log('differential test skipped: tshark not installed');
    else console.log(`differential test skipped: no captures at ${capturesDir}`);
    return;
  }
  for (const { f, name } of files) {
    const ex = EXCEPTIONS[name];
    it(`${name}${ex ? ` (differs: ${ex.why})` : ''}`, async () => {
      const ports = PORTS[name];
      const theirs = tsharkKeys(f, ports?.tshark ?? []);
      const ours = await ourKeys(f, ports?.sipPorts);
      if (ex === undefined) {
        expect(Object.fromEntries(ours)).toEqual(Object.fromEntries(theirs));
      } else if (ex.kind === 'subset') {
        for (const [k, n] of ours) expect({ k, n: Math.min(n, theirs.get(k) ?? 0) }).toEqual({ k, n });
        // The exception must still be real: tshark sees something we do not.
        expect(total(ours)).toBeLessThan(total(theirs));
      } else {
        expect(Math.abs(total(ours) - total(theirs))).toBeLessThanOrEqual(ex.tolerance);
      }
    });
  }
});
