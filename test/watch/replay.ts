/**
 * Replays a recorded lab case through the watch engine on the capture's own clock: packets in
 * time order, the engine ticked every 50 ms of capture time as the live session does, conntrack
 * events and nft reads joined in at their times. What the live command would have printed, and
 * when, without root or a network.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Anomalies } from '../../src/core/anomalies.js';
import type { ConntrackEntry } from '../../src/conntrack/entry.js';
import { parseConntrackFile } from '../../src/conntrack/parse.js';
import { loadInventory } from '../../src/inventory/index.js';
import { parseNftJson } from '../../src/inventory/nft.js';
import { tOf, type Stamp } from '../../src/observe/types.js';
import { runPackets } from '../../src/pipeline/packets.js';
import { WatchEngine, type WatchEvent } from '../../src/watch/engine.js';

export type Evidence = 'nodes' | 'nft' | 'events' | 'capture';

export interface Replay {
  events: WatchEvent[];
  final: ReturnType<WatchEngine['evaluate']>;
  evaluations: number;
}

const stampOf = (t: number): Stamp => {
  const sec = Math.floor(t);
  return { sec, nsec: Math.round((t - sec) * 1e9), precision: 9 };
};

export async function replayCase(dir: string, evidence: Evidence[], opts: { nftDelayS?: number; earlyAfter?: number } = {}): Promise<Replay> {
  const truth = JSON.parse(readFileSync(path.join(dir, 'truth.json'), 'utf8')) as { failoverAt: string };
  const failoverT = Date.parse(truth.failoverAt) / 1000;
  const capture = ['lb-any.pcap', 'lb-interfaces.pcapng'].map((f) => path.join(dir, f)).find((f) => {
    try {
      readFileSync(f, { flag: 'r' }).subarray(0, 1);
      return true;
    } catch {
      return false;
    }
  })!;
  const inventory = evidence.includes('nodes') ? await loadInventory(path.join(dir, 'inventory.json')) : undefined;
  const engine = new WatchEngine({
    anomalies: new Anomalies(),
    sipPorts: [5060],
    timerBNs: 32e9,
    forwardWindowNs: 500e6,
    udpTimeoutS: 120,
    vips: [],
    ...(inventory ? { inventory } : {}),
    ...(opts.earlyAfter ? { earlyRetransmissions: opts.earlyAfter } : {}),
    captureLabel: 'replay',
  });
  // Timed inputs besides packets, in time order.
  const timed: { t: number; apply: () => void }[] = [];
  if (evidence.includes('nft')) {
    const before = parseNftJson(readFileSync(path.join(dir, 'nft-before.json'), 'utf8'), 'nft -j list ruleset');
    const after = parseNftJson(readFileSync(path.join(dir, 'nft-after.json'), 'utf8'), 'nft -j list ruleset');
    timed.push({ t: 0, apply: () => engine.setNft(before, stampOf(timed[0]!.t)) });
    // The poll that first sees the swap comes up to one interval after it.
    const at = failoverT + (opts.nftDelayS ?? 1);
    timed.push({ t: at, apply: () => engine.setNft(after, stampOf(at)) });
  }
  if (evidence.includes('events')) {
    const entries: ConntrackEntry[] = [];
    await parseConntrackFile(path.join(dir, 'conntrack-events.txt'), { file: 'conntrack-events.txt', onEntry: (e) => entries.push(e.clone()) });
    for (const e of entries) timed.push({ t: e.timeSec + e.timeNsec * 1e-9, apply: () => engine.conntrack(e, 'conntrack -E', true) });
  }
  timed.sort((a, b) => a.t - b.t);
  const events: WatchEvent[] = [];
  let next = -Infinity;
  let last: Stamp | undefined;
  let ti = 0;
  const tick = (now: Stamp): void => {
    engine.advance(now);
    if (engine.dirty) events.push(...engine.evaluate(now).events);
  };
  await runPackets({ files: [capture], tcp: engine.analyzer.dissector.tcp }, (pkt) => {
    const f = pkt.frame;
    const t = f.sec + f.nsec * 1e-9;
    if (next === -Infinity) {
      next = t;
      if (timed[0] && timed[0].t === 0) timed[0].t = t;
    }
    // Ticks (every 50 ms) and timed inputs that fall before this packet.
    while (next <= t || (ti < timed.length && timed[ti]!.t <= t)) {
      if (ti < timed.length && timed[ti]!.t <= next) timed[ti++]!.apply();
      else {
        tick(stampOf(next));
        next += 0.05;
      }
    }
    engine.packet(pkt);
    last = { sec: f.sec, nsec: f.nsec, precision: f.precision };
  });
  while (ti < timed.length) timed[ti++]!.apply();
  // A second more of quiet time, as a live watch would see before Ctrl-C.
  const endT = tOf(last!) + 1;
  for (; next <= endT; next += 0.05) tick(stampOf(next));
  const end = stampOf(endT);
  events.push(...engine.evaluate(end).events);
  engine.analyzer.finish();
  const final = engine.evaluate(end, true);
  return { events, final, evaluations: engine.evaluations };
}
