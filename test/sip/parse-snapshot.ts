/**
 * Everything a parse leaves in a SipMessage, as one comparable value: for holding the C parser
 * (native/sip/sip_parse.c) to the JavaScript one, in the tests and the fuzzer.
 */
import { Anomalies } from '../../src/core/anomalies.js';
import { SipMessage } from '../../src/sip/message.js';
import { parseSipMessageJs, parseSipMessageNative, SipParseStatus } from '../../src/sip/parser.js';

export function snapshot(m: SipMessage): Record<string, unknown> {
  return {
    off: m.off,
    len: m.len,
    isRequest: m.isRequest,
    method: m.method,
    statusCode: m.statusCode,
    callId: m.callId,
    cseqNum: m.cseqNum,
    cseqMethod: m.cseqMethod,
    via: m.via.slice(0, m.viaCount).map((v) => ({ ...v })),
    viaDropped: m.viaDropped,
    fromTag: m.fromTag,
    toTag: m.toTag,
    maxForwards: m.maxForwards,
    contentLength: m.contentLength,
    headerCount: m.headerCount,
    bodyOff: m.bodyOff,
    bodyLen: m.bodyLen,
    complete: m.complete,
    spans: [...m.sp],
    headers: [...m.hSpans.subarray(0, m.headerCount * 4)],
    contactSpans: [...m.contactSpans.subarray(0, m.contactLines * 2)],
    requestUri: m.requestUri,
    version: m.version,
    reason: m.reason,
    fromUri: m.fromUri,
    toUri: m.toUri,
    fromName: m.fromName,
    toName: m.toName,
    contentType: m.contentType,
    userAgent: m.userAgent,
    server: m.server,
    cseqText: m.cseqText,
    contacts: m.contacts,
    headerNames: m.headerNames(),
  };
}

export interface ParserComparison {
  /** Did the C parser take the message (false: it left it to JavaScript)? */
  native: boolean;
  /** Where the two differ, or why a taken message should not have been; undefined when they agree. */
  mismatch?: string;
}

const jsMsg = new SipMessage();
const cMsg = new SipMessage();

/**
 * Parse bytes[off, off + len) with both parsers. When the C parser takes a message, the
 * JavaScript parser must find it well-formed (status Ok, no anomaly) and leave the same record.
 */
export function compareParsers(bytes: Uint8Array, off = 0, len = bytes.length - off): ParserComparison {
  const an = new Anomalies();
  const st = parseSipMessageJs(bytes, off, len, jsMsg, an);
  if (!parseSipMessageNative(bytes, off, len, cMsg)) return { native: false };
  if (st !== SipParseStatus.Ok || an.size > 0) {
    return { native: true, mismatch: `C parser took a message the JavaScript parser finds ${st === SipParseStatus.Ok ? 'Ok' : `status ${st}`} with anomalies [${an.list().map((a) => a.name).join(', ')}]` };
  }
  const a = snapshot(jsMsg);
  const b = snapshot(cMsg);
  for (const k of Object.keys(a)) {
    const x = JSON.stringify(a[k]);
    const y = JSON.stringify(b[k]);
    if (x !== y) return { native: true, mismatch: `${k}: JavaScript ${x}, C ${y}` };
  }
  return { native: true };
}
