/** Builders for SIP test messages. */
const enc = new TextEncoder();

/**
 * Join header lines with CRLF, add the empty line and the body. "{CL}" in a line is replaced by
 * the body's byte length, so cases state their Content-Length without counting by hand.
 */
export function sipText(lines: string[], body: string | Uint8Array = '', eol = '\r\n'): Uint8Array {
  const b = typeof body === 'string' ? enc.encode(body) : body;
  const head = lines.map((l) => l.replace('{CL}', String(b.length))).join(eol) + eol + eol;
  const h = enc.encode(head);
  const out = new Uint8Array(h.length + b.length);
  out.set(h, 0);
  out.set(b, h.length);
  return out;
}

export interface MsgOpts {
  method?: string;
  uri?: string;
  callId?: string;
  cseq?: number;
  cseqMethod?: string;
  branch?: string;
  /** Via sent-by. */
  via?: string;
  /** Extra Via values above the first (a proxy's), top first. */
  extraVia?: string[];
  fromTag?: string;
  toTag?: string;
  from?: string;
  to?: string;
  body?: string;
}

/** A request with sensible defaults. */
export function request(o: MsgOpts = {}): Uint8Array {
  const method = o.method ?? 'INVITE';
  const lines = [
    `${method} ${o.uri ?? 'sip:bob@example.com'} SIP/2.0`,
    ...(o.extraVia ?? []).map((v) => `Via: ${v}`),
    `Via: SIP/2.0/UDP ${o.via ?? '192.0.2.1:5060'};branch=${o.branch ?? 'z9hG4bKa1'};rport`,
    'Max-Forwards: 70',
    `From: <sip:${o.from ?? 'alice@example.com'}>;tag=${o.fromTag ?? 'ft1'}`,
    `To: <sip:${o.to ?? 'bob@example.com'}>${o.toTag ? ';tag=' + o.toTag : ''}`,
    `Call-ID: ${o.callId ?? 'call-1@example.com'}`,
    `CSeq: ${o.cseq ?? 1} ${o.cseqMethod ?? method}`,
    'Contact: <sip:alice@192.0.2.1:5060>',
    'Content-Length: {CL}',
  ];
  return sipText(lines, o.body ?? '');
}

/** A response with sensible defaults (Via as the request's). */
export function response(code: number, o: MsgOpts = {}): Uint8Array {
  const method = o.cseqMethod ?? o.method ?? 'INVITE';
  const reason = code === 100 ? 'Trying' : code === 180 ? 'Ringing' : code === 200 ? 'OK' : code === 487 ? 'Request Terminated' : 'Whatever';
  const lines = [
    `SIP/2.0 ${code} ${reason}`,
    ...(o.extraVia ?? []).map((v) => `Via: ${v}`),
    `Via: SIP/2.0/UDP ${o.via ?? '192.0.2.1:5060'};branch=${o.branch ?? 'z9hG4bKa1'};rport=5060;received=192.0.2.1`,
    `From: <sip:${o.from ?? 'alice@example.com'}>;tag=${o.fromTag ?? 'ft1'}`,
    `To: <sip:${o.to ?? 'bob@example.com'}>${o.toTag ? ';tag=' + o.toTag : code > 100 ? ';tag=tt1' : ''}`,
    `Call-ID: ${o.callId ?? 'call-1@example.com'}`,
    `CSeq: ${o.cseq ?? 1} ${method}`,
    'Content-Length: {CL}',
  ];
  return sipText(lines, o.body ?? '');
}
