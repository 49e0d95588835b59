import { describe, expect, it } from 'vitest';
import { Anomalies } from '../../src/core/anomalies.js';
import { SipMessage, SIP_LIMITS } from '../../src/sip/message.js';
import { findHeaderEnd, looksLikeSip, parseSipMessage, scanContentLength, SipParseStatus } from '../../src/sip/parser.js';
import { request, response, sipText } from './helpers.js';

const enc = new TextEncoder();
const bytes = (s: string): Uint8Array => enc.encode(s);

interface Parsed {
  status: SipParseStatus;
  msg: SipMessage;
  anomalies: string[];
}

function parse(b: Uint8Array, pad = 0): Parsed {
  // Parse at a non-zero offset inside a larger buffer: spans must be absolute.
  const buf = new Uint8Array(b.length + pad * 2);
  buf.fill(0x41);
  buf.set(b, pad);
  const msg = new SipMessage();
  const an = new Anomalies();
  const status = parseSipMessage(buf, pad, b.length, msg, an);
  return { status, msg, anomalies: an.list().map((r) => r.name) };
}

interface Case {
  name: string;
  input: Uint8Array;
  status?: SipParseStatus;
  /** Exactly these anomalies (sorted). */
  anomalies?: string[];
  check?: (m: SipMessage) => void;
}

const longName = 'amazinglylongcallername'.repeat(60);
const longUser = 'longuser'.repeat(150);
const longCallId = 'longreq.onereallyreallyreallylongcallid'.repeat(25);
const longVias = Array.from({ length: 40 }, (_, i) => `Via: SIP/2.0/TCP hop${i}.example.net;branch=z9hG4bK${'b'.repeat(200)}${i}`);

const mpartBody = new Uint8Array([
  ...bytes('--boundary42\r\nContent-Type: application/sdp\r\n\r\nv=0\r\no=- 1 1 IN IP4 192.0.2.5\r\n\r\n--boundary42\r\nContent-Type: application/octet-stream\r\n\r\n'),
  0x00, 0xff, 0x0d, 0x0a, 0x0d, 0x0a, 0x80, 0x81, 0x00,
  ...bytes('\r\n--boundary42--\r\n'),
]);

const cases: Case[] = [
  {
    name: 'plain INVITE: every extracted field',
    input: request({ body: 'v=0\r\n' }),
    anomalies: [],
    check: (m) => {
      expect(m.isRequest).toBe(true);
      expect(m.method).toBe('INVITE');
      expect(m.requestUri).toBe('sip:bob@example.com');
      expect(m.version).toBe('SIP/2.0');
      expect(m.callId).toBe('call-1@example.com');
      expect([m.cseqNum, m.cseqMethod]).toEqual([1, 'INVITE']);
      expect(m.viaCount).toBe(1);
      expect(m.topVia).toEqual({ transport: 'UDP', host: '192.0.2.1', port: 5060, branch: 'z9hG4bKa1', rport: 0, received: '' });
      expect([m.fromUri, m.fromTag, m.toUri, m.toTag]).toEqual(['sip:alice@example.com', 'ft1', 'sip:bob@example.com', '']);
      expect(m.contacts).toEqual(['sip:alice@192.0.2.1:5060']);
      expect(m.maxForwards).toBe(70);
      expect(m.contentLength).toBe(5);
      expect(m.bodyLen).toBe(5);
      expect(m.complete).toBe(true);
    },
  },
  {
    name: 'response: status, reason, received/rport, to-tag',
    input: response(180),
    anomalies: [],
    check: (m) => {
      expect([m.isRequest, m.statusCode, m.reason, m.method]).toEqual([false, 180, 'Ringing', '']);
      expect(m.topVia?.rport).toBe(5060);
      expect(m.topVia?.received).toBe('192.0.2.1');
      expect(m.toTag).toBe('tt1');
      expect(m.cseqMethod).toBe('INVITE');
    },
  },
  {
    // RFC 4475 3.1.1.1 wsinv: whitespace everywhere it may be, folding, mixed case, compact forms.
    name: 'wsinv: tortuous whitespace and folding',
    input: sipText(
      [
        'INVITE sip:carol@chair.example.org;oddparam SIP/2.0',
        'tO :',
        ' sip:carol@chair.example.org ;   tag    = 77123x',
        'fRoM   : "Q. Tester \\\\\\""       <sip:qt@example.com>',
        '  ;',
        '  tag = 9zzq1',
        'mAx-fOrWaRdS: 0042',
        'Call-ID: wsinv.abcd9@192.0.2.9',
        'Content-Length   : {CL}',
        'cseq: 0017',
        '  INVITE',
        'Via  : SIP  /   2.0',
        ' /UDP',
        '    192.0.2.9;branch=390ab',
        's :',
        'X-Made-Up:   made up value',
        ' continued made up value',
        'X-Odd-Value: ;;,,;;,;',
        'Content-Type: application/sdp',
        'Route:',
        ' <sip:svc.example.org;lr;whatever=value;bare>',
        'v:  SIP  / 2.0  / TCP     spool.example.org   ;',
        '  branch  =   z9hG4bK77aa  ,',
        ' SIP  /    2.0   / UDP  198.51.100.77   ; branch=',
        ' z9hG4bK40404',
        'm:"Quoted \\"\\"" <sip:qt@example.com> ; np =',
        '      nv ;',
        '  other ; q = 0.5',
      ],
      'v=0\r\no=qt 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n',
    ),
    anomalies: [],
    check: (m) => {
      expect(m.method).toBe('INVITE');
      expect(m.requestUri).toBe('sip:carol@chair.example.org;oddparam');
      expect(m.toUri).toBe('sip:carol@chair.example.org');
      expect(m.toTag).toBe('77123x');
      expect(m.fromUri).toBe('sip:qt@example.com');
      expect(m.fromTag).toBe('9zzq1');
      expect(m.fromName).toBe('Q. Tester \\"');
      expect(m.maxForwards).toBe(42);
      expect([m.cseqNum, m.cseqMethod]).toEqual([17, 'INVITE']);
      expect(m.viaCount).toBe(3);
      expect(m.via.slice(0, 3).map((v) => [v.transport, v.host, v.branch])).toEqual([
        ['UDP', '192.0.2.9', '390ab'],
        ['TCP', 'spool.example.org', 'z9hG4bK77aa'],
        ['UDP', '198.51.100.77', 'z9hG4bK40404'],
      ]);
      expect(m.header('subject')).toBe('');
      expect(m.header('X-MADE-UP')).toBe('made up value continued made up value');
      expect(m.contacts).toEqual(['sip:qt@example.com']);
      expect(m.contentType).toBe('application/sdp');
      expect(m.bodyLen).toBe(m.contentLength);
    },
  },
  {
    // 3.1.1.2 intmeth: every token character in the method, odd characters in URI and Call-ID.
    name: 'intmeth: unusual but valid token characters',
    input: sipText([
      "!interesting-Method0123456789_*+`.%indeed'~ sip:1_odd.URI~(really!)&isn't+it$/mad?,/;;*:&yes+it=1,odd!*pa$$~d_too.(ok)@example.com SIP/2.0",
      'Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`\'~',
      'To: "BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f" <sip:1_odd.URI~(really!)&isn\'t+it$/mad?,/;;*@example.com>',
      'From: token1~` token2\'+_ token3*%!.- <sip:mad@example.com>;fromParam\'\'~+*_!.-%="\u0440\u0430\u0431\u043e\u0442\u0430\u044e\u0449\u0438\u0439";tag=_token~1\'+`*%!-.',
      'Call-ID: intmeth.word%ZK-!.*_+\'@word`~)(><:\\/"][?}{',
      "CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~",
      'Max-Forwards: 255',
      "extensionHeader-!.%*+_`'~: \uFEFF\u5927\u505C\u96FB",
      'Content-Length: 0',
    ]),
    anomalies: [],
    check: (m) => {
      expect(m.method).toBe("!interesting-Method0123456789_*+`.%indeed'~");
      expect(m.cseqMethod).toBe(m.method);
      expect(m.cseqNum).toBe(139122385);
      expect(m.callId).toBe('intmeth.word%ZK-!.*_+\'@word`~)(><:\\/"][?}{');
      expect(m.fromTag).toBe("_token~1'+`*%!-.");
      expect(m.toUri).toBe("sip:1_odd.URI~(really!)&isn't+it$/mad?,/;;*@example.com");
      expect(m.topVia?.branch).toBe("z9hG4bK-.!%66*_+`'~");
      expect(m.header("extensionheader-!.%*+_`'~")).toBe('\uFEFF\u5927\u505C\u96FB');
      expect(m.maxForwards).toBe(255);
    },
  },
  {
    // 3.1.1.3 esc01: %-escapes are kept as written (matching compares them as written).
    name: 'esc01: escapes in Request-URI, From and To',
    input: sipText([
      'INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0',
      'To: sip:%61lice@example.com',
      'From: <sip:I%20have%20spaces@example.net>;tag=938',
      'Max-Forwards: 87',
      'i: esc01.239409asdfakjkn23onasd0-3234',
      'CSeq: 234234 INVITE',
      'Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bKkdjuw',
      'C: application/sdp',
      'Contact: <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>',
      'Content-Length: {CL}',
    ], 'v=0\r\n'),
    anomalies: [],
    check: (m) => {
      expect(m.requestUri).toBe('sip:sips%3Auser%40example.com@example.net');
      expect(m.toUri).toBe('sip:%61lice@example.com');
      expect(m.fromUri).toBe('sip:I%20have%20spaces@example.net');
      expect(m.callId).toBe('esc01.239409asdfakjkn23onasd0-3234');
      expect(m.contentType).toBe('application/sdp');
      expect(m.contacts).toEqual(['sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31']);
    },
  },
  {
    // 3.1.1.4 escnull: %00 in URIs is just three characters.
    name: 'escnull: escaped NUL in URIs',
    input: sipText([
      'REGISTER sip:example.com SIP/2.0',
      'To: sip:null-%00-null@example.com',
      'From: sip:null-%00-null@example.com;tag=839923423',
      'Max-Forwards: 70',
      'Call-ID: escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd',
      'CSeq: 14398234 REGISTER',
      'Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw',
      'Contact: <sip:%00@host5.example.com>',
      'Contact: <sip:%00%00@host5.example.com>',
      'L:0',
    ]),
    anomalies: [],
    check: (m) => {
      expect(m.toUri).toBe('sip:null-%00-null@example.com');
      expect(m.fromTag).toBe('839923423');
      expect(m.contacts).toEqual(['sip:%00@host5.example.com', 'sip:%00%00@host5.example.com']);
      expect(m.contentLength).toBe(0);
    },
  },
  {
    // 3.1.1.5 esc02: % in a method is a token character, not an escape: this is not REGISTER.
    name: 'esc02: percent in method and display name is not an escape',
    input: sipText([
      'RE%47IST%45R sip:registrar.example.com SIP/2.0',
      'To: "%Z%45" <sip:resource@example.com>',
      'From: "%Z%45" <sip:resource@example.com>;tag=f232jadfj23',
      'Call-ID: esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf',
      'Via: SIP/2.0/TCP host.example.com;branch=z9hG4bK209793',
      'CSeq: 29344 RE%47IST%45R',
      'Max-Forwards: 70',
      'Contact: <sip:alias1@host1.example.com>',
      'Contact: <sip:alias2@host2.example.com>, <sip:alias3@host3.example.com>',
      'l: 0',
    ]),
    anomalies: [],
    check: (m) => {
      expect(m.method).toBe('RE%47IST%45R');
      expect(m.cseqMethod).toBe('RE%47IST%45R');
      expect(m.toName).toBe('%Z%45');
      expect(m.contacts).toEqual(['sip:alias1@host1.example.com', 'sip:alias2@host2.example.com', 'sip:alias3@host3.example.com']);
    },
  },
  {
    // 3.1.1.6 lwsdisp: no whitespace between display name and "<".
    name: 'lwsdisp: display name glued to the URI',
    input: sipText([
      'OPTIONS sip:user@example.com SIP/2.0',
      'To: sip:user@example.com',
      'From: caller<sip:caller@example.com>;tag=323',
      'Max-Forwards: 70',
      'Call-ID: lwsdisp.1234abcd@funky.example.com',
      'CSeq: 60 OPTIONS',
      'Via: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw',
      'l: 0',
    ]),
    anomalies: [],
    check: (m) => {
      expect([m.fromName, m.fromUri, m.fromTag]).toEqual(['caller', 'sip:caller@example.com', '323']);
    },
  },
  {
    // 3.1.1.7 longreq: long values everywhere and many Via hops; below our bounds, so parsed.
    name: 'longreq: long header values and many Via hops',
    input: sipText([
      `INVITE sip:${longUser}@example.com SIP/2.0`,
      `To: "${longName}" <sip:${longUser}@example.com>;tag=${'t'.repeat(1000)}`,
      `From: "${longName}" <sip:${longUser}@example.net>;tag=${'f'.repeat(1000)}`,
      `Call-ID: ${longCallId}`,
      'CSeq: 3882340 INVITE',
      'Max-Forwards: 70',
      ...longVias,
      `Contact: <sip:${longUser}@host.example.net>`,
      `X-Long: ${'x'.repeat(8000)}`,
      'Content-Length: {CL}',
    ], 'v=0\r\n'),
    anomalies: ['sip_too_many_via'],
    check: (m) => {
      expect(m.callId).toBe(longCallId);
      expect(m.viaCount).toBe(SIP_LIMITS.maxViaHops);
      expect(m.viaDropped).toBe(40 - SIP_LIMITS.maxViaHops);
      expect(m.toName).toBe(longName);
      expect(m.fromTag).toBe('f'.repeat(1000));
      expect(m.header('x-long')?.length).toBe(8000);
    },
  },
  {
    name: 'a header beyond the line bound is skipped and counted; the message still parses',
    input: sipText(['OPTIONS sip:a@example.com SIP/2.0', 'Via: SIP/2.0/UDP h;branch=z9hG4bK1', `X-Huge: ${'y'.repeat(SIP_LIMITS.maxLineLength + 10)}`, 'From: <sip:a@b>;tag=1', 'To: <sip:a@b>', 'Call-ID: c', 'CSeq: 1 OPTIONS', 'l: 0']),
    anomalies: ['sip_header_too_long'],
    check: (m) => {
      expect(m.header('x-huge')).toBeUndefined();
      expect(m.callId).toBe('c');
    },
  },
  {
    // 3.1.1.8 dblreq: a second request after Content-Length in the same datagram is discarded.
    name: 'dblreq: bytes past Content-Length are not a second message',
    input: new Uint8Array([
      ...request({ method: 'REGISTER', callId: 'dblreq.0ha0isndaksdj99sdfafnl3lk233412' }),
      ...request({ callId: 'dblreq.0ha0isndaksdj99sdfafnl3lk233412', cseq: 2 }),
    ]),
    anomalies: ['sip_extra_bytes'],
    check: (m) => {
      expect(m.method).toBe('REGISTER');
      expect(m.bodyLen).toBe(0);
    },
  },
  {
    // 3.1.1.9 semiuri: semicolons in the user part stay in the Request-URI.
    name: 'semiuri: semicolon-separated parameters in the user part',
    input: sipText([
      'OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0',
      'To: sip:j_user@example.com',
      'From: sip:caller@example.org;tag=33242',
      'Max-Forwards: 3',
      'Call-ID: semiuri.0ha0isndaksdj',
      'CSeq: 8 OPTIONS',
      'Accept: application/sdp, application/pkcs7-mime,',
      '        multipart/mixed, multipart/signed,',
      '        message/sip, message/sipfrag',
      'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKkdjuw',
      'l: 0',
    ]),
    anomalies: [],
    check: (m) => {
      expect(m.requestUri).toBe('sip:user;par=u%40example.net@example.com');
      expect([m.fromUri, m.fromTag]).toEqual(['sip:caller@example.org', '33242']);
      expect(m.header('accept')).toBe('application/sdp, application/pkcs7-mime, multipart/mixed, multipart/signed, message/sip, message/sipfrag');
    },
  },
  {
    // 3.1.1.10 transports: every transport token, known or not.
    name: 'transports: Via with UDP, SCTP, TLS, an unknown one and TCP',
    input: sipText([
      'OPTIONS sip:user@example.com SIP/2.0',
      'To: sip:user@example.com',
      'From: <sip:caller@example.com>;tag=323',
      'Max-Forwards: 70',
      'Call-ID:  transports.kijh4akdnaqjkwendsasfdj',
      'Accept: application/sdp',
      'CSeq: 60 OPTIONS',
      'Via: SIP/2.0/UDP t1.example.com;branch=z9hG4bKkdjuw',
      'Via: SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf',
      'Via: SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj',
      'Via: SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en',
      'Via: SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee',
      'l: 0',
    ]),
    anomalies: [],
    check: (m) => {
      expect(m.via.slice(0, m.viaCount).map((v) => v.transport)).toEqual(['UDP', 'SCTP', 'TLS', 'UNKNOWN', 'TCP']);
      expect(m.callId).toBe('transports.kijh4akdnaqjkwendsasfdj');
    },
  },
  {
    // 3.1.1.11 mpart01: a multipart body with binary bytes and blank lines inside it.
    name: 'mpart01: multipart body with binary content',
    input: sipText([
      'MESSAGE sip:kumiko@example.org SIP/2.0',
      'Via: SIP/2.0/UDP 192.0.2.2:5060;branch=z9hG4bK-30-2',
      'Max-Forwards: 70',
      'From: "Mr. Example" <sip:mr@example.net>;tag=4364',
      'To: <sip:kumiko@example.org>',
      'Call-ID: mpart01.3848276298220188511@example.net',
      'CSeq: 1 MESSAGE',
      'Content-Type: multipart/mixed;boundary=boundary42',
      'Content-Length: {CL}',
    ], mpartBody),
    anomalies: [],
    check: (m) => {
      expect(m.bodyLen).toBe(mpartBody.length);
      expect(Array.from(m.body())).toEqual(Array.from(mpartBody));
      expect(m.contentType).toBe('multipart/mixed;boundary=boundary42');
      expect(m.fromName).toBe('Mr. Example');
    },
  },
  {
    // 3.1.1.12 unreason: a reason phrase with UTF-8 and punctuation.
    name: 'unreason: unusual reason phrase',
    input: sipText([
      'SIP/2.0 200 = 2**3 * 5**2 \u043d\u043e \u0441\u0442\u043e \u0434\u0435\u0432\u044f\u043d\u043e\u0441\u0442\u043e \u0434\u0435\u0432\u044f\u0442\u044c',
      'Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923',
      'Call-ID: unreason.1234ksdfak3j2erwedfsASdf',
      'CSeq: 35 INVITE',
      'From: sip:user@example.com;tag=11141343',
      'To: sip:user@example.edu;tag=2229',
      'Content-Length: 0',
    ]),
    anomalies: [],
    check: (m) => {
      expect(m.statusCode).toBe(200);
      expect(m.reason).toBe('= 2**3 * 5**2 \u043d\u043e \u0441\u0442\u043e \u0434\u0435\u0432\u044f\u043d\u043e\u0441\u0442\u043e \u0434\u0435\u0432\u044f\u0442\u044c');
    },
  },
  {
    // 3.1.1.13 noreason: an empty reason phrase (the space is there, nothing after it).
    name: 'noreason: empty reason phrase',
    input: sipText(['SIP/2.0 100 ', 'Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe', 'Call-ID: noreason.asndj203insdf99223ndf', 'CSeq: 35 INVITE', 'From: <sip:user@example.com>;tag=39ansfi3', 'To: <sip:user@example.edu>;tag=902jndnke3', 'Content-Length: 0']),
    anomalies: [],
    check: (m) => expect([m.statusCode, m.reason]).toEqual([100, '']),
  },
  {
    name: 'status line without any reason separator',
    input: sipText(['SIP/2.0 100', 'Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2', 'Call-ID: x', 'CSeq: 1 INVITE', 'From: <sip:a@b>;tag=1', 'To: <sip:c@d>', 'l: 0']),
    anomalies: [],
    check: (m) => expect([m.statusCode, m.reason]).toEqual([100, '']),
  },
  // --- invalid messages (RFC 4475 3.1.2 and 3.3) ---
  {
    // 3.1.2.1 badinv01: empty Via params and hops; the hop that parsed is kept.
    name: 'badinv01: extraneous separators in Via and Contact',
    input: sipText([
      'INVITE sip:user@example.com SIP/2.0',
      'To: sip:j.user@example.com',
      'From: sip:caller@example.net;tag=134161461246',
      'Max-Forwards: 7',
      'Call-ID: badinv01.0ha0isndaksdjasdf3234nas',
      'CSeq: 8 INVITE',
      'Via: SIP/2.0/UDP 192.0.2.15;;,;,,',
      'Contact: "Joe" <sip:joe@example.org>;;;;',
      'Content-Length: 0',
    ]),
    anomalies: ['sip_bad_via'],
    check: (m) => {
      expect(m.viaCount).toBe(1);
      expect(m.topVia?.host).toBe('192.0.2.15');
      expect(m.contacts).toEqual(['sip:joe@example.org']);
    },
  },
  {
    // 3.1.2.2 clerr: Content-Length larger than what arrived.
    name: 'clerr: Content-Length larger than the message',
    input: sipText(['INVITE sip:user@example.com SIP/2.0', 'Max-Forwards: 80', 'To: sip:j.user@example.com', 'From: sip:caller@example.net;tag=93942939o2', 'Call-ID: clerr.0ha0isndaksdjweiafasdk3', 'CSeq: 8 INVITE', 'Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bK-39234-23523', 'Content-Type: application/sdp', 'Content-Length: 9999'], 'v=0\r\no=mhandley 29739 7272939 IN IP4 192.0.2.155\r\n'),
    anomalies: ['sip_content_length_mismatch'],
    check: (m) => expect([m.contentLength, m.bodyLen]).toEqual([9999, 'v=0\r\no=mhandley 29739 7272939 IN IP4 192.0.2.155\r\n'.length]),
  },
  {
    // 3.1.2.3 scalar02: negative Content-Length.
    name: 'scalar02: negative Content-Length',
    input: sipText(['REGISTER sip:example.com SIP/2.0', 'Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bK342sdfoi3', 'To: <sip:user@example.com>', 'From: <sip:user@example.com>;tag=239232jh3', 'CSeq: 36 REGISTER', 'Call-ID: scalar02.23o0pd9vanlq3wnrlnewofjas9ui32', 'Max-Forwards: 300', 'Expires: 1', 'Contact: <sip:user@host129.example.com>;expires=280297596632815', 'Content-Length: -999']),
    anomalies: ['sip_bad_content_length', 'sip_bad_max_forwards'],
    check: (m) => expect([m.contentLength, m.maxForwards]).toEqual([-1, -1]),
  },
  {
    // 3.1.2.4 scalarlg: numbers too large for their fields.
    name: 'scalarlg: overlarge CSeq',
    input: sipText(['REGISTER sip:example.com SIP/2.0', 'Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bKzzxdiwo34sw;received=192.0.2.129', 'To: <sip:user@example.com>', 'From: <sip:user@example.com>;tag=2easdjfejw', 'CSeq: 36893488147419103232 REGISTER', 'Call-ID: scalarlg.sadonfo23i420jv0as0derf3j3n', 'Max-Forwards: 70', 'l: 0']),
    anomalies: ['sip_bad_cseq'],
    check: (m) => expect(m.cseqNum).toBe(-1),
  },
  {
    // 3.1.2.19 bigcode / scalar1: a status code that is not three digits.
    name: 'bigcode: overlarge response code',
    input: sipText(['SIP/2.0 4294967301 better not break the receiver', 'Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe', 'Call-ID: bigcode.asdof3uj203asdnf3429uasdhfas3ehjasdfas9i', 'CSeq: 353494 INVITE', 'l: 0']),
    status: SipParseStatus.NotSip,
    anomalies: ['sip_bad_start_line'],
  },
  {
    name: 'status code out of range',
    input: sipText(['SIP/2.0 099 Low', 'l: 0']),
    status: SipParseStatus.NotSip,
    anomalies: ['sip_bad_start_line'],
  },
  {
    // 3.1.2.6 quotbal: unterminated quoted display name.
    name: 'quotbal: unbalanced quote in From',
    input: sipText(['INVITE sip:user@example.com SIP/2.0', 'To: "Mr. J. User <sip:j.user@example.com>', 'From: sip:caller@example.net;tag=93334', 'Max-Forwards: 10', 'Call-ID: quotbal.aksdj', 'CSeq: 0 INVITE', 'Via: SIP/2.0/UDP 192.0.2.15:5060;branch=z9hG4bKkdjuw380234', 'l: 0']),
    anomalies: ['sip_bad_to'],
    check: (m) => expect([m.toUri, m.fromUri]).toEqual(['', 'sip:caller@example.net']),
  },
  {
    // 3.1.2.7 ltgtruri: the Request-URI in angle brackets.
    name: 'ltgtruri: Request-URI enclosed in <>',
    input: sipText(['INVITE <sip:user@example.com> SIP/2.0', 'To: sip:user@example.com', 'From: sip:caller@example.net;tag=39291', 'Max-Forwards: 23', 'Call-ID: ltgtruri.1@192.0.2.5', 'CSeq: 1 INVITE', 'Via: SIP/2.0/UDP 192.0.2.5;branch=z9hG4bKkdjuw', 'l: 0']),
    status: SipParseStatus.Invalid,
    anomalies: ['sip_bad_request_uri'],
  },
  {
    // 3.1.2.8 lwsruri: whitespace inside the Request-URI makes four words.
    name: 'lwsruri: embedded LWS in Request-URI',
    input: sipText(['INVITE sip:user@example.com; lr SIP/2.0', 'To: sip:user@example.com;tag=3xfe-9921883-z9f', 'Call-ID: lwsruri.asdfasdoeoi2323-asdfwrn23-asd834rk423', 'l: 0']),
    status: SipParseStatus.NotSip,
    anomalies: ['sip_bad_start_line'],
  },
  {
    // 3.1.2.9 lwsstart and 3.1.2.10 trws: extra whitespace in the request line is tolerated and counted.
    name: 'lwsstart: several SP between request-line elements',
    input: sipText(['INVITE  sip:user@example.com  SIP/2.0', 'Max-Forwards: 8', 'To: sip:user@example.com', 'From: sip:caller@example.net;tag=8814', 'Call-ID: lwsstart.dfknq234oi243099adsdfnawe3@example.com', 'CSeq: 1893884 INVITE', 'Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw3923', 'l: 0']),
    anomalies: ['sip_start_line_whitespace'],
    check: (m) => expect([m.method, m.requestUri]).toEqual(['INVITE', 'sip:user@example.com']),
  },
  {
    name: 'trws: trailing SP after the version',
    input: sipText(['OPTIONS sip:remote-target@example.com SIP/2.0  ', 'Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK299342093', 'To: <sip:remote-target@example.com>', 'From: <sip:local-resource@example.com>;tag=329429089', 'Call-ID: trws.oicu34958239neffasdhr2345r', 'CSeq: 238923 OPTIONS', 'Max-Forwards: 70', 'l: 0']),
    anomalies: ['sip_start_line_whitespace'],
    check: (m) => expect(m.method).toBe('OPTIONS'),
  },
  {
    // 3.1.2.16 badvers: a SIP version we do not speak.
    name: 'badvers: unknown protocol version',
    input: sipText(['OPTIONS sip:t.watson@example.org SIP/7.0', 'Via:     SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw', 'Max-Forwards:     70', 'From:    A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe', 'To:      T. Watson <sip:t.watson@example.org>', 'Call-ID: badvers.31417@c.example.com', 'CSeq:    1 OPTIONS', 'l: 0']),
    status: SipParseStatus.Invalid,
    anomalies: ['sip_bad_version'],
  },
  {
    // 3.1.2.17 mismatch01 and 3.1.2.18 mismatch02: CSeq method differs from the request method.
    name: 'mismatch01: CSeq method differs from the method',
    input: request({ method: 'OPTIONS', cseqMethod: 'INVITE', callId: 'mismatch01.dj0234sxdfl3' }),
    anomalies: ['sip_cseq_method_mismatch'],
  },
  {
    name: 'mismatch02: unknown method with a mismatched CSeq',
    input: request({ method: 'NEWMETHOD', cseqMethod: 'INVITE', callId: 'mismatch02.dj0234sxdfl3' }),
    anomalies: ['sip_cseq_method_mismatch'],
    check: (m) => expect(m.method).toBe('NEWMETHOD'),
  },
  {
    // 3.3.1 insuf: required headers missing.
    name: 'insuf: missing Call-ID, From and To',
    input: sipText(['INVITE sip:user@example.com SIP/2.0', 'CSeq: 193942 INVITE', 'Via: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf', 'Content-Type: application/sdp', 'l: 0']),
    anomalies: ['sip_missing_call_id', 'sip_missing_from', 'sip_missing_to'],
  },
  {
    name: 'no Via and no CSeq',
    input: sipText(['INVITE sip:user@example.com SIP/2.0', 'Call-ID: x', 'From: <sip:a@b>;tag=1', 'To: <sip:c@d>', 'l: 0']),
    anomalies: ['sip_missing_cseq', 'sip_missing_via'],
  },
  {
    // 3.3.8 multi01: single-valued headers given twice; the first one counts.
    name: 'multi01: duplicated Call-ID, To, From and CSeq',
    input: sipText(['INVITE sip:user@company.com SIP/2.0', 'Contact: <sip:caller@host25.example.net>', 'Via: SIP/2.0/UDP 192.0.2.25;branch=z9hG4bKkdjuw', 'Max-Forwards: 70', 'CSeq: 5 INVITE', 'Call-ID: multi01.98asdh@192.0.2.1', 'CSeq: 59 INVITE', 'Call-ID: multi01.98asdh@192.0.2.2', 'From: sip:caller@example.com;tag=3413415', 'To: sip:user@example.com', 'To: sip:other@example.net', 'From: sip:caller@example.net;tag=2923420123', 'l: 0']),
    anomalies: ['sip_duplicate_header'],
    check: (m) => {
      expect(m.callId).toBe('multi01.98asdh@192.0.2.1');
      expect(m.cseqNum).toBe(5);
      expect(m.fromTag).toBe('3413415');
      expect(m.headerValues('call-id')).toEqual(['multi01.98asdh@192.0.2.1', 'multi01.98asdh@192.0.2.2']);
    },
  },
  {
    // 3.3.9 mcl01: two different Content-Length values.
    name: 'mcl01: conflicting Content-Length headers',
    input: sipText(['OPTIONS sip:user@example.com SIP/2.0', 'Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bK293423', 'To: sip:user@example.com', 'From: sip:other@example.net;tag=3923942', 'Call-ID: mcl01.fhn2323orihawfdoa3o4r52o3irsdf', 'CSeq: 15932 OPTIONS', 'Content-Length: 13', 'Max-Forwards: 60', 'Content-Length: 5', 'Content-Type: text/plain'], "There's no way to know how many octets are supposed to be here."),
    anomalies: ['sip_bad_content_length', 'sip_duplicate_header', 'sip_extra_bytes'],
    check: (m) => expect(m.contentLength).toBe(13),
  },
  {
    // 3.1.2.15 baddn and 3.1.2.14 badaspec: we are a passive observer and take the URI anyway.
    name: 'baddn and badaspec: tolerated, URI still extracted',
    input: sipText(['OPTIONS sip:t.watson@example.org SIP/2.0', 'Via:     SIP/2.0/UDP c.example.com:5060;branch=z9hG4bKkdjuw', 'Max-Forwards:      70', 'From:    Bell, Alexander <sip:a.g.bell@example.com>;tag=43', 'To:      "Watson, Thomas" < sip:t.watson@example.org >', 'Call-ID: baddn.31415@c.example.com', 'CSeq:    1 OPTIONS', 'l: 0']),
    anomalies: [],
    check: (m) => {
      expect([m.fromName, m.fromUri, m.fromTag]).toEqual(['Bell, Alexander', 'sip:a.g.bell@example.com', '43']);
      expect(m.toUri).toBe('sip:t.watson@example.org');
    },
  },
  {
    // 3.1.2.13 regbadct and 3.1.2.11 escruri: headers in URIs are kept as written.
    name: 'regbadct: unbracketed Contact URI with headers',
    input: sipText(['REGISTER sip:example.com SIP/2.0', 'To: sip:user@example.com', 'From: sip:user@example.com;tag=998332', 'Max-Forwards: 70', 'Call-ID: regbadct.k345asrl3fdbv@10.0.0.1', 'CSeq: 1 REGISTER', 'Via: SIP/2.0/UDP 135.180.130.133:5060;branch=z9hG4bKkdjuw', 'Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E', 'l: 0']),
    anomalies: [],
    check: (m) => expect(m.contacts).toEqual(['sip:user@example.com?Route=%3Csip:sip.example.com%3E']),
  },
  {
    name: 'every compact form is understood',
    input: sipText([
      'SUBSCRIBE sip:pres@example.com SIP/2.0',
      'v: SIP/2.0/UDP 192.0.2.3;branch=z9hG4bKcf',
      'i: compact-1',
      'f: <sip:a@example.com>;tag=cf',
      't: <sip:pres@example.com>',
      'm: <sip:a@192.0.2.3>',
      'c: text/plain',
      'k: timer',
      's: hello',
      'e: gzip',
      'o: presence',
      'r: <sip:x@example.com>',
      'u: dialog',
      'x: 1800',
      'y: sig',
      'a: *;audio',
      'b: <sip:ref@example.com>',
      'j: *;video',
      'd: proxy',
      'n: <https://example.com/cert>',
      'CSeq: 1 SUBSCRIBE',
      'l: 0',
    ]),
    anomalies: [],
    check: (m) => {
      expect(m.headerNames()).toEqual([
        'via', 'call-id', 'from', 'to', 'contact', 'content-type', 'supported', 'subject', 'content-encoding', 'event', 'refer-to',
        'allow-events', 'session-expires', 'identity', 'accept-contact', 'referred-by', 'reject-contact', 'request-disposition', 'identity-info', 'cseq', 'content-length',
      ]);
      expect([m.callId, m.fromTag, m.toUri, m.contentType, m.contentLength]).toEqual(['compact-1', 'cf', 'sip:pres@example.com', 'text/plain', 0]);
      expect(m.header('Subject')).toBe('hello');
      expect(m.header('EVENT')).toBe('presence');
      expect(m.header('session-expires')).toBe('1800');
      expect(m.header('Refer-To')).toBe('<sip:x@example.com>');
      expect(m.contacts).toEqual(['sip:a@192.0.2.3']);
    },
  },
  {
    name: 'multi-value Via across lines and commas, IPv6 sent-by with received and rport',
    input: sipText([
      'BYE sip:b@example.com SIP/2.0',
      'Via: SIP/2.0/UDP [2001:db8::1]:5070;branch=z9hG4bKp1;received=2001:db8::9;rport=5071, SIP/2.0/TCP proxy.example.com;branch=z9hG4bKp2',
      'Via: SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bKp3;rport',
      'From: <sip:a@example.com>;tag=1',
      'To: <sip:b@example.com>;tag=2',
      'Call-ID: mv',
      'CSeq: 2 BYE',
      'l: 0',
    ]),
    anomalies: [],
    check: (m) => {
      expect(m.via.slice(0, m.viaCount)).toEqual([
        { transport: 'UDP', host: '[2001:db8::1]', port: 5070, branch: 'z9hG4bKp1', rport: 5071, received: '2001:db8::9' },
        { transport: 'TCP', host: 'proxy.example.com', port: 0, branch: 'z9hG4bKp2', rport: -1, received: '' },
        { transport: 'UDP', host: '192.0.2.4', port: 5060, branch: 'z9hG4bKp3', rport: 0, received: '' },
      ]);
    },
  },
  {
    name: 'bare LF line ends and leading empty lines',
    input: new Uint8Array([...bytes('\r\n\r\n'), ...sipText(['OPTIONS sip:a@example.com SIP/2.0', 'Via: SIP/2.0/UDP h;branch=z9hG4bK1', 'From: <sip:a@b>;tag=1', 'To: <sip:a@b>', 'Call-ID: lf', 'CSeq: 1 OPTIONS', 'l: 0'], '', '\n')]),
    anomalies: [],
    check: (m) => expect([m.callId, m.cseqNum, m.complete]).toEqual(['lf', 1, true]),
  },
  {
    name: 'header block cut short: fields so far, counted',
    input: bytes('INVITE sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: cut\r\nCSeq: 1 INVITE\r\nContent-Le'),
    anomalies: ['sip_bad_header_line', 'sip_truncated_headers'],
    check: (m) => expect([m.callId, m.complete, m.bodyLen]).toEqual(['cut', false, 0]),
  },
  {
    name: 'too many headers',
    input: sipText(['OPTIONS sip:a@example.com SIP/2.0', ...Array.from({ length: SIP_LIMITS.maxHeaders + 1 }, (_, i) => `X-H${i}: v`)]),
    status: SipParseStatus.Invalid,
    anomalies: ['sip_too_many_headers'],
  },
  {
    name: 'message too large',
    input: sipText(['OPTIONS sip:a@example.com SIP/2.0', 'l: {CL}'], 'z'.repeat(SIP_LIMITS.maxMessageSize)),
    status: SipParseStatus.Invalid,
    anomalies: ['sip_message_too_large'],
  },
  {
    name: 'not SIP: HTTP request',
    input: bytes('GET / HTTP/1.1\r\nHost: example.com\r\n\r\n'),
    status: SipParseStatus.NotSip,
    anomalies: ['sip_bad_start_line'],
  },
  {
    name: 'not SIP: binary',
    input: Uint8Array.from([0x80, 0x00, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef]),
    status: SipParseStatus.NotSip,
    anomalies: ['sip_bad_start_line'],
  },
  {
    name: 'header line without a colon is counted and skipped',
    input: sipText(['OPTIONS sip:a@example.com SIP/2.0', 'Via: SIP/2.0/UDP h;branch=z9hG4bK1', 'garbage line', 'From: <sip:a@b>;tag=1', 'To: <sip:a@b>', 'Call-ID: g', 'CSeq: 1 OPTIONS', 'l: 0']),
    anomalies: ['sip_bad_header_line'],
    check: (m) => expect(m.callId).toBe('g'),
  },
  {
    name: 'escape sequences in a header are kept raw (made visible only when printed)',
    input: sipText(['OPTIONS sip:a@example.com SIP/2.0', 'Via: SIP/2.0/UDP h;branch=z9hG4bK1', 'From: <sip:a@b>;tag=1', 'To: <sip:a@b>', 'Call-ID: esc', 'CSeq: 1 OPTIONS', 'User-Agent: evil\x1b[31mred\x1b[0m', 'Server: srv/1.0', 'l: 0']),
    anomalies: [],
    check: (m) => expect([m.userAgent, m.server]).toEqual(['evil\x1b[31mred\x1b[0m', 'srv/1.0']),
  },
];

describe('parseSipMessage', () => {
  for (const c of cases) {
    it(c.name, () => {
      for (const pad of [0, 7]) {
        const r = parse(c.input, pad);
        expect(r.status).toBe(c.status ?? SipParseStatus.Ok);
        if (c.anomalies) expect(r.anomalies).toEqual([...c.anomalies].sort());
        c.check?.(r.msg);
      }
    });
  }

  it('reuses the record: no field leaks from one message to the next', () => {
    const msg = new SipMessage();
    const an = new Anomalies();
    const a = request({ body: 'v=0\r\n' });
    parseSipMessage(a, 0, a.length, msg, an);
    const b = sipText(['SIP/2.0 503 Busy', 'l: 0']);
    parseSipMessage(b, 0, b.length, msg, an);
    expect([msg.isRequest, msg.method, msg.callId, msg.viaCount, msg.fromTag, msg.contentLength, msg.requestUri, msg.fromUri]).toEqual([false, '', '', 0, '', 0, '', '']);
    expect(msg.contacts).toEqual([]);
  });
});

describe('looksLikeSip', () => {
  const table: [string, string | Uint8Array, boolean][] = [
    ['request', 'INVITE sip:bob@example.com SIP/2.0\r\nVia: x\r\n', true],
    ['unknown method', 'FOO sip:x@y SIP/2.0\r\n', true],
    ['response', 'SIP/2.0 200 OK\r\n', true],
    ['response without reason', 'SIP/2.0 100\r\n\r\n', true],
    ['leading CRLF', '\r\nOPTIONS sips:x@y SIP/2.0\r\n', true],
    ['tel URI', 'INVITE tel:+15551234 SIP/2.0\r\n', true],
    ['HTTP', 'GET / HTTP/1.1\r\nHost: x\r\n', false],
    ['HTTP response', 'HTTP/1.1 200 OK\r\n', false],
    ['four-digit code', 'SIP/2.0 2000 OK\r\n', false],
    ['no scheme', 'INVITE bob SIP/2.0\r\n', false],
    ['other version', 'INVITE sip:a@b SIP/2.X\r\n', false],
    ['too short', 'SIP/2.0', false],
    ['RTP', Uint8Array.from([0x80, 0x00, 0x01, 0x02, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4]), false],
    ['lower-case text', 'invite sip:x SIP/2.0\r\n', true],
  ];
  for (const [name, input, want] of table) {
    it(name, () => {
      const b = typeof input === 'string' ? bytes(input) : input;
      expect(looksLikeSip(b, 0, b.length)).toBe(want);
    });
  }
});

describe('findHeaderEnd and scanContentLength', () => {
  const table: [string, string, number, number][] = [
    ['CRLF', 'A\r\nContent-Length: 12\r\n\r\nbody', 25, 12],
    ['LF', 'A\nl: 3\n\nabc', 8, 3],
    ['no length', 'A\r\nX: y\r\n\r\n', 11, -1],
    ['bad length', 'A\r\nContent-Length: x1\r\n\r\n', 25, -2],
    ['conflicting lengths', 'A\r\nl: 1\r\nContent-Length: 2\r\n\r\n', 30, -2],
    ['same length twice', 'A\r\nl: 2\r\nContent-Length: 2\r\n\r\n', 30, 2],
    ['incomplete', 'A\r\nl: 2\r\n', -1, 2],
    ['space before colon', 'A\r\nContent-Length  :  7 \r\n\r\n', 28, 7],
  ];
  for (const [name, text, end, cl] of table) {
    it(name, () => {
      const b = bytes(text);
      expect(findHeaderEnd(b, 0, b.length)).toBe(end);
      expect(scanContentLength(b, 0, end < 0 ? b.length : end)).toBe(cl);
    });
  }
});
