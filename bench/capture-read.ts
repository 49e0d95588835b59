/**
 * Quick local measure of the capture readers alone (no decoding): MB/s and packets/s.
 *
 *   npx tsx bench/capture-read.ts FILE [FILE...]        read each file 3 times, print the best and median
 *   npx tsx bench/capture-read.ts --make FILE MB [ng]   write a SIP/RTP-like Ethernet capture of about MB megabytes
 *                                                      (pcap, or pcapng with "ng"), for measuring; not committed
 */
import { statSync } from 'node:fs';
import { Anomalies } from '../src/core/anomalies.js';
import { openCapture } from '../src/capture/open.js';
import { PcapFileWriter } from '../src/capture/writer.js';
import { PcapngFileWriter } from '../src/capture/pcapng-writer.js';
import { ReadStatus } from '../src/capture/reader.js';
import { newFrame } from '../src/capture/types.js';
import { sipInvite, udp4Frame } from '../test/gen/packets.js';

async function readOnce(path: string, bufferSize?: number): Promise<{ sec: number; packets: number; bytes: number }> {
  const ctx = { anomalies: new Anomalies(), warnings: [], interfaces: [], ...(bufferSize ? { bufferSize } : {}) };
  const t0 = process.hrtime.bigint();
  const r = await openCapture(path, 0, ctx);
  const f = newFrame();
  let packets = 0;
  let touched = 0;
  for (;;) {
    const st = r.next(f);
    if (st === ReadStatus.Frame) {
      packets++;
      touched += f.buf[f.off + 12]!; // look at the EtherType byte, as a decoder would
    } else if (st === ReadStatus.NeedData) await r.fill();
    else break;
  }
  await r.close();
  const sec = Number(process.hrtime.bigint() - t0) / 1e9;
  if (touched < 0) console.log(touched);
  return { sec, packets, bytes: r.info.bytesRead };
}

function make(path: string, mb: number, ng: boolean): void {
  const frames: Uint8Array[] = [];
  for (let i = 0; i < 16; i++) {
    frames.push(udp4Frame('192.0.2.10', 5060, '198.51.100.1', 5060, sipInvite(`c${i}@x`, i, `b${i}`, 'a@192.0.2.10', 'b@198.51.100.1', '192.0.2.10:5060'), i));
    for (let j = 0; j < 6; j++) frames.push(udp4Frame('192.0.2.10', 20000 + j, '198.51.100.1', 30000 + j, new Uint8Array(172).fill(j), j)); // RTP-sized
  }
  const target = mb * 1024 * 1024;
  let sec = 1700000000;
  let nsec = 0;
  let n = 0;
  const step = (): void => {
    nsec += 20_000;
    if (nsec >= 1e9) {
      nsec -= 1e9;
      sec++;
    }
  };
  if (ng) {
    const w = new PcapngFileWriter(path);
    w.section('le');
    const id = w.interface({ linkType: 1, tsresol: 9, name: 'eth0' });
    while (w.bytes < target) {
      w.epb(id, sec, nsec, frames[n++ % frames.length]!);
      step();
    }
    w.close();
  } else {
    const w = new PcapFileWriter(path, { linkType: 1, resolution: 'ns' });
    while (w.bytes < target) {
      w.write(sec, nsec, frames[n++ % frames.length]!);
      step();
    }
    w.close();
  }
  console.log(`wrote ${path}: ${(statSync(path).size / 1e6).toFixed(1)} MB, ${n} packets`);
}

const args = process.argv.slice(2);
if (args[0] === '--make') {
  make(args[1]!, Number(args[2] ?? 300), args[3] === 'ng');
} else {
  const bufferSize = process.env.BUF ? Number(process.env.BUF) : undefined;
  for (const path of args) {
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await readOnce(path, bufferSize));
    runs.sort((a, b) => a.sec - b.sec);
    const show = (label: string, r: { sec: number; packets: number; bytes: number }): string =>
      `${label} ${(r.bytes / 1e6 / r.sec).toFixed(0)} MB/s, ${(r.packets / 1e6 / r.sec).toFixed(2)} Mpkt/s (${r.sec.toFixed(3)} s)`;
    console.log(`${path}: ${(runs[0]!.bytes / 1e6).toFixed(1)} MB, ${runs[0]!.packets} packets; ${show('best', runs[0]!)}; ${show('median', runs[1]!)}`);
  }
}
