/** Probe building blocks: outcomes, fixed-port assignment, targets, the OPTIONS request. */
import { describe, expect, it } from 'vitest';
import { Anomalies } from '../../src/core/anomalies.js';
import { StalepinError } from '../../src/core/errors.js';
import { buildOptions, checkUri, newBranch, newCallId, newTag, type OptionsRequest } from '../../src/probe/message.js';
import { assignFixedPorts, outcomeOf } from '../../src/probe/probe.js';
import { splitTarget } from '../../src/probe/target.js';
import { SipMessage } from '../../src/sip/message.js';
import { parseSipMessage, SipParseStatus } from '../../src/sip/parser.js';

describe('outcomeOf', () => {
  it.each([
    [true, true, 'ok'],
    [false, true, 'pinned'],
    [false, false, 'down'],
    [true, false, 'fresh-only-fail'],
  ] as const)('fixed answered %s, fresh answered %s: %s', (fixed, fresh, outcome) => {
    expect(outcomeOf(fixed, fresh)).toBe(outcome);
  });
});

describe('assignFixedPorts', () => {
  it.each([
    [undefined, 2, [0, 0]],
    [[], 1, [0]],
    [[5070], 1, [5070]],
    [[5070], 3, [5070, 5071, 5072]],
    [[5070, 6000], 2, [5070, 6000]],
  ])('%j for %i targets: %j', (values, n, want) => {
    expect(assignFixedPorts(values, n)).toEqual(want);
  });
  it.each([
    [[5070, 5071], 3, /one per target \(3\), not 2/],
    [[65535], 2, /passes 65535/],
    [[0], 1, /not a port number: 0/],
    [[70000], 1, /not a port number/],
    [[5070, 5070], 2, /its own port/],
  ])('%j for %i targets is refused', (values, n, msg) => {
    expect(() => assignFixedPorts(values, n)).toThrow(msg);
  });
});

describe('splitTarget', () => {
  it.each([
    ['203.0.113.10:5080', '203.0.113.10', 5080, true],
    ['203.0.113.10', '203.0.113.10', 5060, true],
    ['[2001:db8::1]:5070', '2001:db8::1', 5070, true],
    ['[2001:DB8:0::1]', '2001:db8::1', 5060, true],
    ['2001:db8::10', '2001:db8::10', 5060, true],
    ['sip:sbc.example.net:5070', 'sbc.example.net', 5070, false],
    ['SBC.Example.NET', 'sbc.example.net', 5060, false],
    ['localhost:5062', 'localhost', 5062, false],
  ])('%s', (text, host, port, isIp) => {
    expect(splitTarget(text)).toEqual({ host, port, isIp });
  });
  it.each([
    ['203.0.113.300:5060', /not an IPv4 address/],
    ['sbc:0', /not a port number/],
    ['sbc:70000', /not a port number/],
    ['sbc:50x', /not a port number/],
    ['bad host!', /not a host name or address/],
    ['', /not a host name or address/],
    ['[zz::q]:5060', /not an IPv6 address/],
    ['[203.0.113.1]:5060', /not an IPv6 address/],
    ['2001:db8::zz', /not an address/],
  ])('%j is refused: %s', (text, msg) => {
    let err: unknown;
    try {
      splitTarget(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StalepinError);
    expect((err as StalepinError).exitCode).toBe(2);
    expect((err as StalepinError).message).toMatch(msg);
  });
});

describe('checkUri', () => {
  it.each(['sip:carrier@203.0.113.2', 'sips:probe@example.net:5061', 'tel:+15551234567', 'sip:[2001:db8::1]:5060'])('accepts %s', (u) => {
    expect(checkUri('--from', u)).toBe(u);
  });
  it.each(['carrier@203.0.113.2', 'sip:a b@c', 'sip:a@b>\r\nX-Evil: 1', 'sip:<a@b>', 'http://x'])('refuses %j', (u) => {
    expect(() => checkUri('--from', u)).toThrow(/--from: not a SIP URI/);
  });
});

describe('buildOptions', () => {
  const base: OptionsRequest = {
    requestUri: 'sip:203.0.113.10:5060',
    from: 'sip:stalepin@198.51.100.7',
    to: 'sip:203.0.113.10:5060',
    transport: 'udp',
    localIp: '198.51.100.7',
    localPort: 5070,
    branch: newBranch(),
    callId: newCallId('198.51.100.7'),
    fromTag: newTag(),
    cseq: 7,
    userAgent: 'stalepin/test',
  };
  it.each([
    ['IPv4 UDP', base, 'UDP', '198.51.100.7', ''],
    ['IPv6 UDP', { ...base, localIp: '2001:db8::7' }, 'UDP', '[2001:db8::7]', ''],
    ['IPv4 TCP', { ...base, transport: 'tcp' as const }, 'TCP', '198.51.100.7', ';transport=tcp'],
  ])('%s parses back as a valid OPTIONS with every mandatory header', (_name, req, transport, host, contactParam) => {
    const bytes = buildOptions(req);
    const m = new SipMessage();
    const an = new Anomalies();
    expect(parseSipMessage(bytes, 0, bytes.length, m, an)).toBe(SipParseStatus.Ok);
    expect(an.list()).toEqual([]);
    expect(m.complete).toBe(true);
    expect([m.isRequest, m.method, m.requestUri, m.version]).toEqual([true, 'OPTIONS', req.requestUri, 'SIP/2.0']);
    expect(m.viaCount).toBe(1);
    const via = m.topVia!;
    expect(via).toMatchObject({ transport, host: host.toLowerCase(), port: 5070, branch: req.branch, rport: 0 });
    expect(via.branch.startsWith('z9hG4bK')).toBe(true);
    expect(m.maxForwards).toBe(70);
    expect(m.fromTag).toBe(req.fromTag);
    expect(m.toTag).toBe('');
    expect(m.callId).toBe(req.callId);
    expect([m.cseqNum, m.cseqMethod]).toEqual([7, 'OPTIONS']);
    expect(m.contentLength).toBe(0);
    expect(m.bodyLen).toBe(0);
    expect(m.contacts).toEqual([`sip:stalepin@${host}:5070${contactParam}`]);
    expect(bytes.toString('latin1').endsWith('\r\n\r\n')).toBe(true);
  });
  it('branches, tags and Call-IDs are fresh each time', () => {
    const n = 200;
    expect(new Set(Array.from({ length: n }, newBranch)).size).toBe(n);
    expect(new Set(Array.from({ length: n }, newTag)).size).toBe(n);
    expect(new Set(Array.from({ length: n }, () => newCallId('192.0.2.1'))).size).toBe(n);
    expect(newCallId('2001:db8::1')).toMatch(/^[0-9a-f]{24}@\[2001:db8::1\]$/);
  });
});
