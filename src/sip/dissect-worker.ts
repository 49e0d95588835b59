/**
 * The reading thread of a split SIP run (sip/threaded.ts): reads the captures, decodes and
 * reassembles, and has the C side dissect every SIP message; what it found goes to the tracking
 * thread through the handoff ring. Its own anomalies, warnings and input facts are posted once,
 * at the end, after the ring's last record.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Anomalies } from '../core/anomalies.js';
import { StalepinError } from '../core/errors.js';
import { DecodeStatus } from '../decode/types.js';
import { runPackets } from '../pipeline/packets.js';
import { SipDissector } from './dissector.js';
import { HandoffWriter } from './handoff.js';
import type { SplitInput, SplitOutcome } from './threaded.js';

const input = workerData as SplitInput;
const writer = new HandoffWriter(input.buffer);
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
    (pkt) => {
      if (pkt.status !== DecodeStatus.Ok) return;
      // A UDP message stands for its packet's Tick (see HandoffWriter.tickAfter).
      writer.tickAfter = true;
      const sent = pkt.proto === 17 && dissector.udp(pkt);
      writer.tickAfter = false;
      if (!sent) writer.tick(pkt.frame.sec, pkt.frame.nsec);
    },
  );
  const { anomalies: _a, error, ...rest } = run;
  outcome = { run: { ...rest, anomalies: anomalies.list(), ...(error ? { error: errorFields(error) } : {}) } };
} catch (e) {
  outcome = e instanceof StalepinError ? { error: errorFields(e) } : { crash: e instanceof Error ? (e.stack ?? e.message) : String(e) };
}
writer.end();
parentPort!.postMessage(outcome);

function errorFields(e: StalepinError): NonNullable<SplitOutcome['error']> {
  return { code: e.code, message: e.message, location: e.location };
}
