/**
 * Hostile traffic, generated as a pcap byte stream on the fly (nothing on disk, nothing held):
 * a frame template is built once with the test/gen builders, then each frame is a copy with a
 * few bytes patched (a counter in the Call-ID and branch, the source address and port, the IP
 * id). Checksums are not fixed up: the decoder does not verify them, as captures from
 * offloading hosts carry garbage there.
 */
import { Readable } from 'node:stream';
import { pcapFileHeader, pcapRecordHeader } from '../../src/capture/writer.js';
import { ETH_IPV4, ethernet, ip4, ipv4, tcp, udp, udp4Frame } from '../gen/packets.js';

export const T0 = 1_800_000_000;

export interface GenFrame {
  /** Capture time in microseconds since T0. */
  us: number;
  data: Uint8Array;
}

/** A pcap (Ethernet, microseconds) of the frames `gen` yields, in ~256 KiB chunks. */
export function pcapStream(gen: Iterable<GenFrame>, onChunk?: () => void): Readable {
  const o = { linkType: 1, snapLen: 262144 } as const;
  function* chunks(): Generator<Buffer> {
    const size = 256 * 1024;
    let buf = Buffer.allocUnsafe(size);
    let n = 0;
    const hdr = new Uint8Array(16);
    buf.set(pcapFileHeader(o), 0);
    n = 24;
    for (const f of gen) {
      if (n + 16 + f.data.length > size) {
        yield buf.subarray(0, n);
        onChunk?.();
        buf = Buffer.allocUnsafe(Math.max(size, 16 + f.data.length));
        n = 0;
      }
      const sec = T0 + Math.floor(f.us / 1e6);
      pcapRecordHeader(o, sec, (f.us % 1e6) * 1000, f.data.length, f.data.length, hdr);
      buf.set(hdr, n);
      buf.set(f.data, n + 16);
      n += 16 + f.data.length;
    }
    if (n > 0) yield buf.subarray(0, n);
  }
  return Readable.from(chunks(), { objectMode: false, highWaterMark: 1 });
}

const enc = new TextEncoder();

/** Write `v` as `width` decimal digits at b[at]. */
export function putDigits(b: Uint8Array, at: number, width: number, v: number): void {
  for (let i = width - 1; i >= 0; i--) {
    b[at + i] = 48 + (v % 10);
    v = Math.floor(v / 10);
  }
}

function positions(b: Uint8Array, marker: string): number[] {
  const m = enc.encode(marker);
  const out: number[] = [];
  for (let i = b.indexOf(m[0]!); i >= 0 && i + m.length <= b.length; i = b.indexOf(m[0]!, i + 1)) {
    let ok = true;
    for (let k = 1; k < m.length && ok; k++) ok = b[i + k] === m[k];
    if (ok) out.push(i);
  }
  return out;
}

export const VIP = '203.0.113.10';
/** Offsets in an Ethernet/IPv4 frame without options. */
export const OFF = { ipId: 18, src: 26, dst: 30, sport: 34, dport: 36 } as const;

/**
 * INVITEs, each a new transaction and call: "NNNNNNNNNN" in the Call-ID and branch is the
 * counter. `tuple(i)` picks the client address (last two octets) and port of INVITE i.
 */
export function* invites(count: number, perSecond: number, tuple: (i: number) => { a: number; b: number; port: number }): Generator<GenFrame> {
  const D = 'NNNNNNNNNN';
  const sip =
    `INVITE sip:bob@${VIP} SIP/2.0\r\n` +
    `Via: SIP/2.0/UDP 192.0.2.1:5080;branch=z9hG4bK${D}\r\n` +
    `Max-Forwards: 70\r\nFrom: <sip:carrier@192.0.2.1>;tag=${D}\r\nTo: <sip:bob@${VIP}>\r\n` +
    `Call-ID: ${D}@hostile\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`;
  const t = udp4Frame('192.0.2.1', 5080, VIP, 5060, sip);
  const at = positions(t, D);
  for (let i = 0; i < count; i++) {
    const f = t.slice();
    for (const p of at) putDigits(f, p, D.length, i);
    const c = tuple(i);
    f[OFF.src + 2] = c.a;
    f[OFF.src + 3] = c.b;
    f[OFF.sport] = c.port >> 8;
    f[OFF.sport + 1] = c.port & 0xff;
    yield { us: Math.floor((i * 1e6) / perSecond), data: f };
  }
}

/** An Ethernet/IPv4 fragment: `len` bytes of UDP payload at byte `offset`, id `id`. */
export function fragment(id: number, offset: number, more: boolean, len: number, fill = 0x41, src = '192.0.2.7'): Uint8Array {
  const body = new Uint8Array(len).fill(fill);
  return ethernet(ipv4({ src, dst: VIP, proto: 17, id, fragOffset: offset, moreFragments: more }, body), ETH_IPV4);
}

/** An Ethernet/IPv4/TCP segment. */
export function segment(src: string, sport: number, dst: string, dport: number, seq: number, ack: number, flags: number, payload: Uint8Array): Uint8Array {
  return ethernet(ipv4({ src, dst, proto: 6 }, tcp(ip4(src), ip4(dst), sport, dport, seq, ack, flags, payload)), ETH_IPV4);
}

/** An Ethernet/IPv4/UDP frame whose UDP length field may be anything (for >64 KiB claims). */
export function udpFrame(payload: Uint8Array, sport = 5080): Uint8Array {
  return ethernet(ipv4({ src: '192.0.2.1', dst: VIP, proto: 17 }, udp(ip4('192.0.2.1'), ip4(VIP), sport, 5060, payload)), ETH_IPV4);
}
