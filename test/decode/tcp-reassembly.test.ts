/** TcpReassembler cases: each a list of segments and the text each direction's sink must see. */
import { describe, expect, it } from 'vitest';
import { Anomalies } from '../../src/core/anomalies.js';
import { newPacket } from '../../src/decode/decoder.js';
import { TcpReassembler, type TcpReassemblyOptions } from '../../src/decode/tcp-reassembly.js';
import { DecodeStatus, type Packet } from '../../src/decode/types.js';
import { frameOf, LogSink } from './helpers.js';

const SYN = 0x02;
const FIN = 0x01;
const RST = 0x04;
const ACK = 0x10;

/** One segment: direction c (client 192.0.2.1:port -> 198.51.100.1:5060) or s (reverse). */
interface Seg {
  d: 'c' | 's';
  seq: number;
  flags?: number;
  data?: string;
  ack?: number;
  /** Capture time, seconds (default 1000). */
  t?: number;
  /** Client port (default 40000): a different port is a different connection. */
  port?: number;
}

function packetOf(s: Seg, pkt: Packet): Packet {
  const data = new TextEncoder().encode(s.data ?? '');
  const f = frameOf(data, 1, s.t ?? 1000);
  pkt.frame = f;
  pkt.status = DecodeStatus.Ok;
  pkt.ipVersion = 4;
  pkt.proto = 6;
  const c = [192, 0, 2, 1];
  const v = [198, 51, 100, 1];
  pkt.src.set(s.d === 'c' ? c : v);
  pkt.dst.set(s.d === 'c' ? v : c);
  const port = s.port ?? 40000;
  pkt.srcPort = s.d === 'c' ? port : 5060;
  pkt.dstPort = s.d === 'c' ? 5060 : port;
  pkt.tcpSeq = s.seq >>> 0;
  pkt.tcpAck = (s.ack ?? 0) >>> 0;
  pkt.tcpFlags = s.flags ?? ACK;
  pkt.payload = data;
  pkt.payloadOff = 0;
  pkt.payloadLen = data.length;
  return pkt;
}

const C = '192.0.2.1:40000>198.51.100.1:5060';
const S = '198.51.100.1:5060>192.0.2.1:40000';

interface Case {
  name: string;
  segs: Seg[];
  opts?: Partial<TcpReassemblyOptions>;
  /** Expected log per direction after flush('eof'). */
  want: Record<string, string>;
  anomalies?: Record<string, number>;
}

const cases: Case[] = [
  {
    name: 'in order after a handshake',
    segs: [
      { d: 'c', seq: 100, flags: SYN },
      { d: 's', seq: 900, flags: SYN | ACK, ack: 101 },
      { d: 'c', seq: 101, data: 'abc' },
      { d: 'c', seq: 104, data: 'def' },
      { d: 'c', seq: 107, flags: FIN | ACK },
    ],
    want: { [C]: 'abcdef[end fin]', [S]: '[end eof]' },
  },
  {
    name: 'out of order: 3, 1, 2',
    segs: [
      { d: 'c', seq: 100, flags: SYN },
      { d: 'c', seq: 107, data: 'ghi' },
      { d: 'c', seq: 101, data: 'abc' },
      { d: 'c', seq: 104, data: 'def' },
    ],
    want: { [C]: 'abcdefghi[end eof]' },
    anomalies: { tcp_out_of_order: 1 },
  },
  {
    name: 'full retransmission is not delivered twice',
    segs: [
      { d: 'c', seq: 100, flags: SYN },
      { d: 'c', seq: 101, data: 'abc' },
      { d: 'c', seq: 101, data: 'abc' },
      { d: 'c', seq: 104, data: 'def' },
    ],
    want: { [C]: 'abcdef[end eof]' },
    anomalies: { tcp_retransmission: 1 },
  },
  {
    name: 'partial overlap is trimmed',
    segs: [
      { d: 'c', seq: 100, flags: SYN },
      { d: 'c', seq: 101, data: 'abcd' },
      { d: 'c', seq: 103, data: 'cdefg' },
    ],
    want: { [C]: 'abcdefg[end eof]' },
    anomalies: { tcp_retransmission: 1 },
  },
  {
    name: 'held segments overlapping each other are trimmed when drained',
    segs: [
      { d: 'c', seq: 100, flags: SYN },
      { d: 'c', seq: 104, data: 'defg' },
      { d: 'c', seq: 106, data: 'fghij' },
      { d: 'c', seq: 101, data: 'abc' },
    ],
    want: { [C]: 'abcdefghij[end eof]' },
  },
  {
    name: 'three messages coalesced in one segment arrive in one piece',
    segs: [{ d: 'c', seq: 100, flags: SYN }, { d: 'c', seq: 101, data: 'm1|m2|m3|' }],
    want: { [C]: 'm1|m2|m3|[end eof]' },
  },
  {
    name: 'gap proven by the peer acknowledging beyond it',
    segs: [
      { d: 'c', seq: 100, flags: SYN },
      { d: 's', seq: 900, flags: SYN | ACK, ack: 101 },
      { d: 'c', seq: 101, data: 'abc' },
      { d: 'c', seq: 110, data: 'xyz' },
      { d: 's', seq: 901, ack: 113 },
      { d: 'c', seq: 113, data: 'more' },
    ],
    want: { [C]: 'abc[gap 6]xyzmore[end eof]', [S]: '[end eof]' },
    anomalies: { tcp_gap: 1 },
  },
  {
    name: 'an ACK inside the hole proves nothing yet',
    segs: [
      { d: 'c', seq: 100, flags: SYN },
      { d: 's', seq: 900, flags: SYN | ACK, ack: 101 },
      { d: 'c', seq: 110, data: 'xyz' },
      { d: 's', seq: 901, ack: 105 },
      { d: 'c', seq: 101, data: 'abcdefghi' },
    ],
    want: { [C]: 'abcdefghixyz[end eof]', [S]: '[end eof]' },
    anomalies: { tcp_gap: 0 },
  },
  {
    name: 'gap forced by the per-stream buffer bound',
    opts: { maxBufferedBytesPerStream: 10 },
    segs: [
      { d: 'c', seq: 100, flags: SYN },
      { d: 'c', seq: 101, data: 'aaaa' },
      { d: 'c', seq: 109, data: 'cccc' },
      { d: 'c', seq: 113, data: 'dddd' },
      { d: 'c', seq: 117, data: 'eeee' },
    ],
    want: { [C]: 'aaaa[gap 4]ccccddddeeee[end eof]' },
    anomalies: { tcp_reassembly_overflow: 1, tcp_gap: 1 },
  },
  {
    name: 'gap forced by the global buffer bound',
    opts: { maxBufferedBytesTotal: 6 },
    segs: [
      { d: 'c', seq: 100, flags: SYN },
      { d: 'c', seq: 105, data: 'eeee' },
      { d: 'c', seq: 109, data: 'ffff' },
    ],
    want: { [C]: '[gap 4]eeeeffff[end eof]' },
    anomalies: { tcp_gap: 1 },
  },
  {
    name: 'a hole still open at the end of input is reported, then the held bytes',
    segs: [
      { d: 'c', seq: 100, flags: SYN },
      { d: 'c', seq: 101, data: 'ab' },
      { d: 'c', seq: 106, data: 'fg' },
    ],
    want: { [C]: 'ab[gap 3]fg[end eof]' },
  },
  {
    name: 'RST ends the direction after flushing held bytes',
    segs: [
      { d: 'c', seq: 100, flags: SYN },
      { d: 'c', seq: 104, data: 'de' },
      { d: 'c', seq: 106, flags: RST },
      { d: 'c', seq: 106, data: 'late' },
    ],
    want: { [C]: '[gap 3]de[end rst]' },
  },
  {
    name: 'FIN before a hole is filled waits for the hole',
    segs: [
      { d: 'c', seq: 100, flags: SYN },
      { d: 'c', seq: 104, data: 'de', flags: FIN | ACK },
      { d: 'c', seq: 101, data: 'abc' },
      { d: 'c', seq: 101, data: 'abc' },
    ],
    want: { [C]: 'abcde[end fin]' },
    anomalies: { tcp_retransmission: 1 },
  },
  {
    name: 'mid-stream start begins at the first segment, after a gap of unknown size',
    segs: [
      { d: 'c', seq: 5000, data: 'tail of something|' },
      { d: 'c', seq: 5018, data: 'next' },
    ],
    want: { [C]: '[gap 0]tail of something|next[end eof]' },
    anomalies: { tcp_midstream_start: 1 },
  },
  {
    name: 'sequence numbers wrap around 2^32',
    segs: [
      { d: 'c', seq: 0xfffffffc, flags: SYN },
      { d: 'c', seq: 0x00000002, data: 'fgh' },
      { d: 'c', seq: 0xfffffffd, data: 'abcde' },
    ],
    want: { [C]: 'abcdefgh[end eof]' },
  },
  {
    name: 'idle timeout by capture time',
    opts: { idleTimeoutSec: 300 },
    segs: [
      { d: 'c', seq: 100, flags: SYN, t: 1000 },
      { d: 'c', seq: 101, data: 'abc', t: 1000 },
      { d: 'c', seq: 1, flags: SYN, t: 1301, port: 40001 },
    ],
    want: { [C]: 'abc[end timeout]', '192.0.2.1:40001>198.51.100.1:5060': '[end eof]' },
  },
  {
    name: 'least recently active direction evicted beyond the stream bound',
    opts: { maxStreams: 2 },
    segs: [
      { d: 'c', seq: 1, flags: SYN, port: 1 },
      { d: 'c', seq: 1, flags: SYN, port: 2 },
      { d: 'c', seq: 2, data: 'one', port: 1 },
      { d: 'c', seq: 1, flags: SYN, port: 3 },
    ],
    want: {
      '192.0.2.1:1>198.51.100.1:5060': 'one[end eof]',
      '192.0.2.1:2>198.51.100.1:5060': '[end evicted]',
      '192.0.2.1:3>198.51.100.1:5060': '[end eof]',
    },
    anomalies: { tcp_stream_table_full: 1 },
  },
  {
    name: 'retransmission after FIN is ignored; a new SYN on the tuple starts a new stream',
    segs: [
      { d: 'c', seq: 100, flags: SYN },
      { d: 'c', seq: 101, data: 'abc', flags: FIN | ACK },
      { d: 'c', seq: 101, data: 'abc', flags: FIN | ACK },
      { d: 'c', seq: 7000, flags: SYN },
      { d: 'c', seq: 7001, data: 'new' },
    ],
    want: { [C]: 'abc[end fin]new[end eof]' },
    anomalies: { tcp_retransmission: 1 },
  },
  {
    name: 'pure ACKs of untracked directions create nothing',
    segs: [
      { d: 's', seq: 1, ack: 5 },
      { d: 's', seq: 1, flags: RST },
    ],
    want: {},
  },
];

describe('TcpReassembler', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const anomalies = new Anomalies();
    const sink = new LogSink();
    const r = new TcpReassembler(sink, { anomalies, ...c.opts });
    const pkt = newPacket();
    for (const s of c.segs) r.push(packetOf(s, pkt));
    r.flush('eof');
    expect(sink.record()).toEqual(c.want);
    for (const [name, n] of Object.entries(c.anomalies ?? {})) expect([name, anomalies.count(name)]).toEqual([name, n]);
    expect(r.bufferedBytes).toBe(0);
    expect(r.streams).toBe(0);
  });

  it('ignores packets that are not decoded TCP', () => {
    const sink = new LogSink();
    const r = new TcpReassembler(sink, { anomalies: new Anomalies() });
    const pkt = packetOf({ d: 'c', seq: 1, data: 'x' }, newPacket());
    pkt.proto = 17;
    r.push(pkt);
    pkt.proto = 6;
    pkt.status = DecodeStatus.Malformed;
    r.push(pkt);
    r.flush();
    expect(sink.record()).toEqual({});
  });

  it('assigns increasing stream ids and formats IPv6 endpoints', () => {
    const ids: number[] = [];
    const names: string[] = [];
    const r = new TcpReassembler(
      {
        data: (s) => {
          ids.push(s.id);
          names.push(`${s.src}|${s.dst}`);
        },
        gap: () => {},
        end: () => {},
      },
      { anomalies: new Anomalies() },
    );
    const pkt = packetOf({ d: 'c', seq: 1, flags: SYN }, newPacket());
    pkt.ipVersion = 6;
    pkt.src.set([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    pkt.dst.set([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    r.push(pkt);
    pkt.tcpFlags = ACK;
    pkt.tcpSeq = 2;
    pkt.payload = new Uint8Array([0x41]);
    pkt.payloadLen = 1;
    r.push(pkt);
    pkt.srcPort = 40002;
    pkt.tcpFlags = SYN;
    r.push(pkt);
    pkt.tcpFlags = ACK;
    pkt.tcpSeq = 3;
    r.push(pkt);
    expect(ids).toEqual([1, 2]);
    expect(names[0]).toBe('2001:db8::1|2001:db8::2');
  });
});
