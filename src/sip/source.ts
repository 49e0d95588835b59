/**
 * Captures -> packets (pipeline/packets.ts) -> SIP messages -> transactions and calls: the run
 * the SIP commands share. UDP datagrams and reassembled TCP streams both go through one
 * SipDissector; every SIP message is tracked, then handed to the caller with what the tracker
 * said about it. Capture time drives the tracker's timers, also between SIP messages.
 */
import { Anomalies } from '../core/anomalies.js';
import { runPackets, type PacketRunOptions, type PacketRunResult } from '../pipeline/packets.js';
import { DecodeStatus } from '../decode/types.js';
import { SipDissector, type SipDissectorStats } from './dissector.js';
import { handoffSlots, newHandoffBuffer } from './handoff.js';
import type { SipMessage } from './message.js';
import { SipParseStatus } from './parser.js';
import { SipTracker, type SipCall, type SipMessageInfo, type SipTransaction, type TrackerOptions, type TrackerStats } from './transactions.js';
import { canSplit, runSplit } from './threaded.js';
import type { SipContext } from './types.js';

export interface SipRunOptions extends Omit<PacketRunOptions, 'tcp'> {
  /** SIP ports (default 5060, 5080). */
  sipPorts?: readonly number[];
  /** Detect SIP on other ports by its start line (default true). */
  heuristic?: boolean;
  tracker?: Omit<TrackerOptions, 'anomalies' | 'onTransaction' | 'onCall'>;
}

export interface SipRunHandlers {
  /**
   * Every SIP message (status Ok or Invalid; Invalid ones are not tracked and get txId 0).
   * All three records are reused: copy what must outlive the call.
   */
  onMessage?: (msg: SipMessage, ctx: SipContext, info: SipMessageInfo, status: SipParseStatus) => void;
  onTransaction?: (tx: SipTransaction) => void;
  onCall?: (call: SipCall) => void;
}

export interface SipRunResult extends PacketRunResult {
  sip: SipDissectorStats;
  tracker: TrackerStats;
}

const NO_INFO: SipMessageInfo = { txId: 0, retransmission: false, forwardedCopy: false, callRef: 0 };

export async function runSip(opts: SipRunOptions, handlers: SipRunHandlers): Promise<SipRunResult> {
  const anomalies = opts.anomalies ?? new Anomalies();
  const tracker = new SipTracker({ ...opts.tracker, anomalies, onTransaction: handlers.onTransaction, onCall: handlers.onCall, messageInfo: handlers.onMessage !== undefined });
  const onMessage = handlers.onMessage;
  // Split in two threads when it can be (sip/threaded.ts): the dissector here then gets its
  // messages from the reading thread, in slots of the buffer the two share.
  const split = canSplit(opts) ? newHandoffBuffer() : undefined;
  const dissector = new SipDissector({
    anomalies,
    ports: opts.sipPorts,
    heuristic: opts.heuristic,
    ...(split ? { slots: handoffSlots(split, 1) } : {}),
    onMessage: (msg, ctx, status) => {
      const info = status === SipParseStatus.Ok ? tracker.track(msg, ctx) : NO_INFO;
      onMessage?.(msg, ctx, info, status);
    },
  });
  const { sipPorts: _p, heuristic: _h, tracker: _t, ...packetOpts } = opts;
  const tick = (sec: number, nsec: number): void => tracker.advance(sec, nsec);
  const run = split
    ? await runSplit(split, { files: opts.files, sipPorts: opts.sipPorts, heuristic: opts.heuristic, tcpOptions: opts.tcpOptions }, { ...opts, anomalies }, { dissector, tick })
    : await runPackets({ ...packetOpts, anomalies, tcp: dissector.tcp }, (pkt) => {
        if (pkt.status !== DecodeStatus.Ok) return;
        if (pkt.proto === 17) dissector.udp(pkt);
        tick(pkt.frame.sec, pkt.frame.nsec);
      });
  tracker.finish();
  return { ...run, sip: dissector.stats, tracker: tracker.stats };
}
