/** Time per segment through a TcpReassembler with `streams` directions active round-robin, in order. */
import { Anomalies } from '../../src/core/anomalies.js';
import { newFrame } from '../../src/capture/types.js';
import { Decoder, newPacket } from '../../src/decode/decoder.js';
import { TcpReassembler } from '../../src/decode/tcp-reassembly.js';
import type { StreamSink } from '../../src/decode/types.js';
import { OFF, segment, VIP } from './gen.js';

export function tcpRoundRobin(streams: number, segments: number, maxStreams?: number): { usPerSegment: number; evicted: number } {
  const anomalies = new Anomalies();
  const sink: StreamSink = { data() {}, gap() {}, end() {} };
  const tcp = new TcpReassembler(sink, maxStreams ? { anomalies, maxStreams } : { anomalies });
  const dec = new Decoder({ anomalies });
  const payload = new Uint8Array(100).fill(0x78);
  const tmpl = segment('192.0.2.9', 1, VIP, 5060, 0, 0, 0x18, payload);
  const SEQ = 14 + 20 + 4;
  const frame = newFrame();
  const pkt = newPacket();
  frame.buf = tmpl;
  frame.capLen = tmpl.length;
  frame.origLen = tmpl.length;
  frame.linkType = 1;
  frame.sec = 1_800_000_000;
  const t0 = performance.now();
  for (let k = 0; k < segments; k++) {
    const s = k % streams;
    const seq = 1 + 100 * Math.floor(k / streams);
    tmpl[OFF.src + 2] = s >> 8;
    tmpl[OFF.src + 3] = s & 0xff;
    tmpl[SEQ] = seq >>> 24;
    tmpl[SEQ + 1] = (seq >>> 16) & 0xff;
    tmpl[SEQ + 2] = (seq >>> 8) & 0xff;
    tmpl[SEQ + 3] = seq & 0xff;
    dec.decode(frame, pkt);
    tcp.push(pkt);
  }
  return { usPerSegment: ((performance.now() - t0) * 1000) / segments, evicted: anomalies.count('tcp_stream_table_full') };
}
