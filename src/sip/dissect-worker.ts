/**
 * The reading thread of a split SIP run (sip/threaded.ts): reads the captures, decodes and
 * reassembles, and has the C side dissect every SIP message; what it found goes to the tracking
 * thread through the handoff ring. Its own anomalies, warnings and input facts are posted once,
 * at the end, after the ring's last record. For `analyze` it also passes ICMP errors, ticks only
 * where the analyzer would advance its timers, and posts the packets it counted.
 */
import { once } from 'node:events';
import { parentPort, workerData } from 'node:worker_threads';
import { Anomalies } from '../core/anomalies.js';
import { StalepinError } from '../core/errors.js';
import { isIcmpAbout } from '../decode/icmp.js';
import { DecodeStatus, type Packet } from '../decode/types.js';
import { PacketSpan } from '../observe/packet-span.js';
import { runPackets } from '../pipeline/packets.js';
import { SipDissector } from './dissector.js';
import { HandoffWriter } from './handoff.js';
import { nativeSipParser } from './native-parser.js';
import { EARLY } from './reader-thread.js';
import type { SplitInput, SplitOutcome } from './threaded.js';

const input = workerData === EARLY ? await inputWhenSent() : (workerData as SplitInput);
const writer = new HandoffWriter(input.buffer, input.analyze);
const span = new PacketSpan();
let outcome: SplitOutcome;
try {
  const anomalies = new Anomalies();
  const dissector = new SipDissector({
    anomalies,
    ports: input.sipPorts,
    heuristic: input.heuristic,
    forward: writer,
    onMessage: () => undefined,
  });
  const stop = new AbortController();
  const run = await runPackets(
    {
      files: input.files,
      anomalies,
      signal: stop.signal,
      tcp: dissector.tcp,
      tcpOptions: input.tcpOptions,
      onProgress: (done, total) => {
        writer.progress(done, total);
        if (writer.stopRequested) stop.abort();
      },
    },
    input.analyze ? (pkt) => analyzePacket(pkt, dissector) : (pkt) => sipPacket(pkt, dissector),
  );
  const { anomalies: _a, error, ...rest } = run;
  outcome = {
    run: { ...rest, anomalies: anomalies.list(), ...(error ? { error: errorFields(error) } : {}) },
    ...(input.analyze ? { span: span.fields(), heard: writer.heardFields() } : {}),
  };
} catch (e) {
  outcome = e instanceof StalepinError ? { error: errorFields(e) } : { crash: e instanceof Error ? (e.stack ?? e.message) : String(e) };
}
writer.end();
// The heard-from columns are moved, not copied (about 10 MB at the table's bound).
const h = outcome.heard;
parentPort!.postMessage(outcome, h ? [h.keys, h.firstSec, h.lastSec, h.count, h.firstNsec, h.lastNsec, h.precision].map((a) => a.buffer as ArrayBuffer) : []);

/** The SIP commands' tracker advances on every decoded packet. */
function sipPacket(pkt: Packet, dissector: SipDissector): void {
  if (pkt.status !== DecodeStatus.Ok) return;
  // A UDP message stands for its packet's Tick (see HandoffWriter.tickAfter).
  writer.tickAfter = true;
  const sent = pkt.proto === 17 && dissector.udp(pkt);
  writer.tickAfter = false;
  if (!sent) writer.tick(pkt.frame.sec, pkt.frame.nsec);
}

/** What LbAnalyzer.packet() does with a packet, but for the tracking: its records, in the same order. */
function analyzePacket(pkt: Packet, dissector: SipDissector): void {
  const due = span.add(pkt.frame);
  if (pkt.status !== DecodeStatus.Ok) return;
  let sent = false;
  if (pkt.proto === 17) {
    writer.tickAfter = due;
    sent = dissector.udp(pkt);
    writer.tickAfter = false;
  } else if (isIcmpAbout(pkt)) writer.icmp(pkt);
  if (due && !sent) writer.tick(pkt.frame.sec, pkt.frame.nsec);
}

/** Started early (sip/reader-thread.ts): the C parser is loaded while the run is set up, then the input comes. */
async function inputWhenSent(): Promise<SplitInput> {
  nativeSipParser();
  const [input] = (await once(parentPort!, 'message')) as [SplitInput];
  return input;
}

function errorFields(e: StalepinError): NonNullable<SplitOutcome['error']> {
  return { code: e.code, message: e.message, location: e.location };
}
