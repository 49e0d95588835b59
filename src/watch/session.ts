/**
 * One watch session: live capture -> FrameStage (the file pipeline's decode and TCP stage) ->
 * WatchEngine, with the live inputs joined in (nft ruleset polls, the conntrack table and event
 * stream), the evidence ring, drop counters and timers. Runs until the signal is raised or the
 * duration is over, then returns the final report. Output goes through the hooks: nothing here
 * prints or exits.
 */
import { Anomalies, type Warning } from '../core/anomalies.js';
import { StalepinError } from '../core/errors.js';
import { LiveClock, interfaceCounters, openLiveCapture, type LiveCapture } from '../capture/live.js';
import type { Frame } from '../capture/types.js';
import { readLiveTable, streamLiveEvents } from '../conntrack/live.js';
import type { Inventory } from '../inventory/model.js';
import { readLiveRules } from '../inventory/live.js';
import { FrameStage } from '../pipeline/packets.js';
import type { Report, ReportInput } from '../report/analyze.js';
import { writePromTextfile } from '../report/prometheus.js';
import type { Stamp } from '../observe/types.js';
import { WatchEngine, type WatchEvent } from './engine.js';
import { PcapRing } from './ring.js';
import { buildReport, watchMetrics, type LiveStats } from './report.js';

export interface WatchOptions {
  interfaces: string[];
  filter: string;
  /** Backend defaults when absent (see capture/live.ts). */
  snapLen?: number;
  bufferBytes?: number;
  sipPorts: number[];
  vips: string[];
  inventory?: Inventory;
  inventoryFile?: string;
  fromNft: boolean;
  nftIntervalMs: number;
  conntrackEvents: boolean;
  netns?: string;
  udpTimeoutS: number;
  timerBNs: number;
  forwardWindowNs: number;
  earlyRetransmissions: number;
  write?: { path: string; rotateBytes: number; rotateCount: number };
  promTextfile?: string;
  statsIntervalMs: number;
  /** Stop by itself after this long (ms). */
  durationMs?: number;
  signal: AbortSignal;
}

export interface WatchHooks {
  onEvent(e: WatchEvent): void;
  /** Every statsInterval and at the end (final = true). */
  onStats?(s: LiveStats, final: boolean): void;
  /** About once a second, for a live screen. */
  onTick?(s: LiveStats, engine: WatchEngine): void;
  onWarning(message: string): void;
  /** Capture started: the interfaces are open. */
  onStarted?(interfaces: string[]): void;
}

export interface WatchResult {
  report: Report;
  events: Record<'new' | 'update' | 'resolved', number>;
  frames: number;
  kernelDrops: number;
  evaluations: number;
}

function sleepUntilAbort(signal: AbortSignal, ms: number | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = ms === undefined ? undefined : setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        if (t) clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}

export async function runWatch(o: WatchOptions, hooks: WatchHooks): Promise<WatchResult> {
  const anomalies = new Anomalies();
  const warnings: Warning[] = [...(o.inventory?.warnings ?? [])];
  const inputs: ReportInput[] = [];
  const clock = new LiveClock();
  const engine = new WatchEngine({
    anomalies,
    sipPorts: o.sipPorts,
    timerBNs: o.timerBNs,
    forwardWindowNs: o.forwardWindowNs,
    udpTimeoutS: o.udpTimeoutS,
    vips: o.vips,
    ...(o.inventory ? { inventory: o.inventory } : {}),
    earlyRetransmissions: o.earlyRetransmissions,
    captureLabel: `live capture on ${o.interfaces.join(', ')}`,
  });
  if (o.inventory && o.inventoryFile) inputs.push({ file: o.inventoryFile, kind: 'inventory', format: o.inventory.source.format, why: `given with --nodes; ${o.inventory.source.why}` });

  // Stops everything on the user's signal, the duration, or a fatal error of a live input.
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  o.signal.addEventListener('abort', onAbort, { once: true });
  let fatal: StalepinError | undefined;
  const fail = (e: unknown): void => {
    if (stop.signal.aborted) return;
    fatal = e instanceof StalepinError ? e : new StalepinError('internal', String((e as Error)?.message ?? e));
    stop.abort();
  };

  // The live rules first: a missing nft or privilege is reported before anything starts.
  if (o.fromNft) {
    const inv = await readLiveRules('nft', o.netns);
    engine.setNft(inv, clock.stamp());
    warnings.push(...inv.warnings);
    inputs.push({ file: inv.source.file, kind: 'inventory', format: inv.source.format, why: `--from-nft, read every ${o.nftIntervalMs} ms; backends missing from its active set count as terminated` });
    pollNft(engine, o.netns, o.nftIntervalMs, clock, stop.signal, hooks.onWarning);
  }
  let eventsDone: Promise<unknown> | undefined;
  if (o.conntrackEvents) {
    const label = o.netns === undefined ? 'conntrack -L' : `conntrack -L (netns ${o.netns})`;
    const table = await readLiveTable({ onEntry: (e) => engine.conntrack(e, label, false), ...(o.netns !== undefined ? { netns: o.netns } : {}) });
    warnings.push(...table.warnings);
    inputs.push({ file: label, kind: 'conntrack', format: table.format ?? 'conntrack', why: `the live table at start (${table.entries} entries, via ${table.via})` });
    const evLabel = o.netns === undefined ? 'conntrack -E' : `conntrack -E (netns ${o.netns})`;
    inputs.push({ file: evLabel, kind: 'conntrack-events', format: 'conntrack-events', why: '--conntrack-events: the live event stream' });
    eventsDone = streamLiveEvents({ onEntry: (e) => engine.conntrack(e, evLabel, true), signal: stop.signal, ...(o.netns !== undefined ? { netns: o.netns } : {}) }).then(
      () => {
        if (!stop.signal.aborted) hooks.onWarning('conntrack -E ended; conntrack events are no longer joined in');
      },
      fail,
    );
  }

  let ring: PcapRing | undefined;
  let stage: FrameStage | undefined;
  const onFrame = (f: Frame): void => {
    ring?.write(f);
    stage!.push(f);
  };
  let capture: LiveCapture;
  try {
    capture = await openLiveCapture({
      interfaces: o.interfaces,
      filter: o.filter,
      ...(o.snapLen !== undefined ? { snapLen: o.snapLen } : {}),
      ...(o.bufferBytes !== undefined ? { bufferBytes: o.bufferBytes } : {}),
      clock,
      onFrame,
    });
  } catch (e) {
    stop.abort();
    await eventsDone;
    o.signal.removeEventListener('abort', onAbort);
    throw e;
  }
  stage = new FrameStage(anomalies, (f) => `${o.interfaces[f.ifIndex] ?? 'live'} packet ${f.recordOffset}`, (pkt) => engine.packet(pkt), engine.analyzer.dissector.tcp);
  if (o.write) {
    try {
      ring = new PcapRing({ path: o.write.path, interfaces: capture.interfaces, rotateBytes: o.write.rotateBytes, rotateCount: o.write.rotateCount });
    } catch (e) {
      capture.close();
      stop.abort();
      await eventsDone;
      o.signal.removeEventListener('abort', onAbort);
      throw e;
    }
  }
  for (const i of capture.interfaces) inputs.push({ file: `live:${i.name}`, kind: 'capture', format: 'libpcap', why: `captured live by ${capture.backend} (link type ${i.linkType}, filter: ${o.filter || 'none'})` });
  hooks.onStarted?.(o.interfaces);

  const started = clock.stamp();
  const counters0 = interfaceCounters(o.interfaces);
  const counts = { new: 0, update: 0, resolved: 0 };
  let kernelDrops = 0;
  let lastFrames = 0;
  let lastRateAt = started;
  let rate = 0;
  const dropsNow = (): number => {
    // libpcap's own counters when the binding exposes them: the capture ring's drops as well as
    // the interface's. With cap, only what /proc/net/dev counts (the interface's) is known.
    const st = capture.stats();
    if (st) return st.dropped + st.ifDropped;
    let d = 0;
    for (const [name, c] of interfaceCounters(o.interfaces)) {
      const c0 = counters0.get(name);
      if (c0) d += c.rxDropped - c0.rxDropped + (c.rxFifo - c0.rxFifo);
    }
    return Math.max(0, d);
  };
  const stats = (now: Stamp): LiveStats => {
    const dt = now.sec - lastRateAt.sec + (now.nsec - lastRateAt.nsec) / 1e9;
    if (dt >= 1) {
      rate = (capture.frames - lastFrames) / dt;
      lastFrames = capture.frames;
      lastRateAt = now;
    }
    return {
      started,
      now,
      frames: capture.frames,
      framesPerSec: rate,
      sipMessages: engine.analyzer.counts.sipMessages,
      pendingInvites: engine.pendingInvites,
      kernelDrops,
      interfaces: o.interfaces,
    };
  };
  const emit = (events: WatchEvent[]): void => {
    for (const e of events) {
      counts[e.event]++;
      hooks.onEvent(e);
    }
  };
  const metrics = async (now: Stamp): Promise<void> => {
    if (!o.promTextfile) return;
    await writePromTextfile(
      o.promTextfile,
      watchMetrics({
        open: engine.openFindings(),
        events: counts,
        frames: capture.frames,
        sipMessages: engine.analyzer.counts.sipMessages,
        kernelDrops,
        pendingInvites: engine.pendingInvites,
        unansweredInvites: engine.analyzer.counts.unansweredInvites,
        evaluations: engine.evaluations,
        now,
      }),
    ).catch((e) => hooks.onWarning(`--prom-textfile: ${(e as Error).message}`));
  };

  // Evaluation pacing: at most every 100 ms, and never more than about a tenth of the time.
  let nextEval = 0;
  const evalTimer = setInterval(() => {
    const now = clock.stamp();
    engine.advance(now);
    const wall = performance.now();
    if (!engine.dirty || wall < nextEval) return;
    const t0 = performance.now();
    emit(engine.evaluate(now).events);
    const took = performance.now() - t0;
    nextEval = t0 + Math.max(100, took * 10);
  }, 50);
  let errorsTold = 0;
  const statsTimer = setInterval(() => {
    const now = clock.stamp();
    while (errorsTold < capture.errors.length) hooks.onWarning(capture.errors[errorsTold++]!);
    const d = dropsNow();
    if (d > kernelDrops) hooks.onWarning(`the kernel dropped ${d - kernelDrops} packet(s) on ${o.interfaces.join(', ')} in the last ${Math.round(o.statsIntervalMs / 1000)} s (${d} since start): findings may be missing; raise --buffer or narrow --filter`);
    kernelDrops = d;
    hooks.onStats?.(stats(now), false);
    ring?.flush();
    void metrics(now);
  }, o.statsIntervalMs);
  const tickTimer = hooks.onTick
    ? setInterval(() => {
        hooks.onTick!(stats(clock.stamp()), engine);
      }, 1000)
    : undefined;
  void metrics(started);

  await sleepUntilAbort(stop.signal, o.durationMs);
  stop.abort();
  clearInterval(evalTimer);
  clearInterval(statsTimer);
  if (tickTimer) clearInterval(tickTimer);
  o.signal.removeEventListener('abort', onAbort);
  capture.close();
  await eventsDone;
  ring?.close();
  stage.finish();

  // Whatever changed since the last evaluation is still reported as an event.
  const end = clock.stamp();
  engine.advance(end);
  emit(engine.evaluate(end).events);
  engine.analyzer.finish();
  kernelDrops = dropsNow();
  const fin = engine.evaluate(end, true);
  const a = engine.analyzer;
  if (a.flows.droppedFlows) anomalies.add('flow_table_full', undefined, a.flows.droppedFlows);
  if (a.flows.droppedLost) anomalies.add('lost_invite_records_dropped', undefined, a.flows.droppedLost);
  if (capture.truncated) warnings.push({ code: 'live_truncated', message: `${capture.truncated} packet(s) were longer than --snaplen and were cut` });
  for (const m of capture.errors) warnings.push({ code: 'live_capture_stopped', message: `${m}: findings after that are missing` });
  if (kernelDrops) warnings.push({ code: 'live_kernel_drops', message: `the kernel dropped ${kernelDrops} packet(s) on ${o.interfaces.join(', ')} while watching: findings may be missing` });
  warnings.push(...stage.decoder.warnings());
  const report = buildReport({
    inputs,
    result: fin.result,
    flows: fin.flows,
    flowsRetired: a.flows.flowsRetired,
    packets: a.counts.packets,
    sipMessages: a.counts.sipMessages,
    inviteTransactions: a.counts.inviteTransactions,
    unansweredInvites: a.counts.unansweredInvites,
    first: a.first,
    last: a.last,
    anomalies: anomalies.list(),
    warnings,
  });
  hooks.onStats?.(stats(end), true);
  await metrics(end);
  if (fatal) throw fatal;
  return { report, events: counts, frames: capture.frames, kernelDrops, evaluations: engine.evaluations };
}

/** Poll the nft ruleset while the session runs (started by the command when --from-nft). */
export function pollNft(engine: WatchEngine, netns: string | undefined, intervalMs: number, clock: LiveClock, signal: AbortSignal, onWarning: (m: string) => void): void {
  let warned = false;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    readLiveRules('nft', netns).then(
      (inv) => {
        busy = false;
        engine.setNft(inv, clock.stamp());
      },
      (e) => {
        busy = false;
        if (!warned) onWarning(`--from-nft: ${(e as Error).message}; keeping the last ruleset read`);
        warned = true;
      },
    );
  }, intervalMs);
  signal.addEventListener('abort', () => clearInterval(timer), { once: true });
}
