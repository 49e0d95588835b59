import { describe, expect, it } from 'vitest';
import { TimelineObserver } from '../../src/observe/timeline.js';
import type { InviteInfo } from '../../src/observe/analyzer.js';
import type { SipTransaction } from '../../src/sip/transactions.js';
import type { Finding } from '../../src/findings/types.js';
import type { Report, ReportFlow } from '../../src/report/analyze.js';
import { renderHtml } from '../../src/report/html/index.js';
import { renderMarkdown } from '../../src/report/render-analyze.js';
import { formatIso } from '../../src/core/time.js';
import { externalReferences, tags } from './helpers.js';

const T0 = 1_700_000_000;
const iso = (t: number): string => formatIso(Math.floor(t), Math.round((t % 1) * 1e9), 6);

function info(t: number, callId: string, client: string, copies: number, answered: boolean): InviteInfo {
  const sec = Math.floor(t);
  const s = { sec, nsec: Math.round((t - sec) * 1e9), precision: 6 };
  const requests = Array.from({ length: copies }, (_, i) => ({ ...s, src: client, dst: '203.0.113.10:5060', transport: 'udp' as const, ifIndex: 0, retransmission: i > 0 }));
  const final = answered ? { ...s, src: '198.51.100.12:5060', dst: client, transport: 'udp' as const, ifIndex: 0, retransmission: false, code: 200, inner: false } : undefined;
  const tx = { method: 'INVITE', callId, requests, requestCount: copies, firstProvisional: undefined, final, ack: undefined, cancel: undefined, responseCount: answered ? 1 : 0 } as unknown as SipTransaction;
  return { at: s, callId, dst: '203.0.113.10:5060', transport: 'udp', how: 'egress-copy', sent: copies, timedOut: !answered, tx };
}

/** A report shaped like a big incident: `invites` INVITEs over an hour, 5 backends, the first one dead half way. */
function bigIncident(invites: number, callId: (i: number) => string = (i) => `call-${i}-0123456789abcdef@192.0.2.${i % 250}`) {
  const obs = new TimelineObserver();
  const backends = Array.from({ length: 5 }, (_, i) => `198.51.100.${11 + i}:5060`);
  const fail = T0 + 1800;
  const flows = new Map<string, ReportFlow>();
  const lost = new Map<string, string[]>();
  for (let i = 0; i < invites; i++) {
    const t = T0 + (3600 * i) / invites;
    const port = Math.floor(i / 250) % 80;
    const client = `192.0.2.${1 + (i % 250)}:${10000 + port}`;
    const fixed = port < 8;
    const target = t >= fail && !fixed ? backends[1 + (i % 4)]! : backends[i % 5 === 0 || fixed ? 0 : i % 5]!;
    const answered = !(t >= fail && target === backends[0]);
    const id = callId(i);
    obs.onInvite(client, target, answered, info(t, id, client, answered ? 1 + (i % 7 === 0 ? 1 : 0) : 7, answered));
    let f = flows.get(client);
    if (!f) flows.set(client, (f = { transport: 'udp', client, dst: '203.0.113.10:5060', invites: 0, answered: 0, unanswered: 0, calls: 0, first: iso(t), last: null, targets: [], notForwarded: 0 }));
    f.invites++;
    f.calls++;
    if (answered) f.answered++;
    else {
      f.unanswered++;
      let l = lost.get(client);
      if (!l) lost.set(client, (l = []));
      l.push(id);
    }
    f.last = iso(t);
    let u = f.targets.find((x) => x.target === target);
    if (!u) f.targets.push((u = { target, how: 'egress-copy', invites: 0, answered: 0, unanswered: 0, first: iso(t), last: null }));
    u.invites++;
    u.last = iso(t);
  }
  const findings: Finding[] = [...lost].map(([client, ids]) => ({
    kind: 'pinned-flow',
    severity: 'critical',
    transport: 'udp',
    client,
    service: '203.0.113.10:5060',
    target: backends[0]!,
    targetState: 'terminated',
    since: iso(fail),
    until: iso(T0 + 3600),
    callIds: ids,
    evidence: [{ source: 'egress-copy', detail: `${ids.length} INVITE transaction(s) from ${client} were seen forwarded to ${backends[0]} after it became terminated, none answered` }],
    remedy: `conntrack -D -p udp --orig-src ${client.split(':')[0]} --orig-port-src ${client.split(':')[1]} --orig-dst 203.0.113.10 --orig-port-dst 5060 --reply-src 198.51.100.11`,
    summary: `udp ${client} -> 203.0.113.10:5060 is pinned to terminated ${backends[0]}: ${ids.length} call(s) lost`,
  }));
  const targets = backends.map((address, i) => ({ address, state: i === 0 ? ('terminated' as const) : ('active' as const), stateSource: 'inventory' as const, since: i === 0 ? iso(fail) : null, invites: 0, unanswered: 0, lastHeard: null }));
  const unanswered = [...lost.values()].reduce((a, l) => a + l.length, 0);
  const report: Report = {
    schema: 'stalepin/report@1',
    generator: 'stalepin test',
    inputs: [{ file: 'big.pcap', kind: 'capture', format: 'pcap', why: 'synthetic' }],
    window: { since: null, until: null, callIds: [] },
    summary: { packets: invites * 12, sipMessages: invites * 8, inviteTransactions: invites, unansweredInvites: unanswered, flows: flows.size, flowsRetired: 0, services: ['203.0.113.10:5060'], first: iso(T0), last: iso(T0 + 3600), findings: { critical: findings.length, warning: 0, info: 0 } },
    targets,
    findings,
    flows: [...flows.values()],
    anomalies: [],
    warnings: [],
  };
  return { report, timeline: obs.build(targets) };
}

describe('HTML report size', () => {
  it('100,000 INVITEs (20,000 flows, 2,000 pinned flows, 4,000 lost calls) render under 5 MB', () => {
    const { report, timeline } = bigIncident(100_000);
    expect(report.summary.inviteTransactions).toBe(100_000);
    expect(report.flows.length).toBe(20_000);
    expect(report.findings.length).toBe(2_000);
    expect(report.summary.unansweredInvites).toBe(4_000);
    const t = performance.now();
    const html = renderHtml(report, timeline);
    const ms = performance.now() - t;
    const bytes = Buffer.byteLength(html);
    console.log(`100k INVITEs: ${(bytes / 1e6).toFixed(2)} MB in ${ms.toFixed(0)} ms; ${report.findings.length} pinned flows, ${report.summary.unansweredInvites} lost calls`);
    expect(bytes).toBeLessThan(5 * 1024 * 1024);
    expect(externalReferences(html)).toEqual([]);
    // Bounded parts: flows table rows, cards, kept calls.
    expect((html.match(/<article class="card /g) ?? []).length).toBe(100);
    expect(timeline.calls.length).toBeLessThanOrEqual(550);
    expect(timeline.lostCallsOmitted).toBeGreaterThan(0);
    // Still shows the pinned flows on the dead lane past its termination.
    const term = tags(html, 'g', 'term').find((g) => g['data-lane'] === '198.51.100.11:5060')!;
    const pinned = tags(html, 'g', 'pinned').filter((g) => g['data-lane'] === '198.51.100.11:5060');
    expect(pinned.length).toBeGreaterThan(0);
    for (const p of pinned) expect(Number(p['data-x2'])).toBeGreaterThan(Number(term['data-x']));
  });
});

describe('escaping: strings from the wire and files never become markup', () => {
  const evil = [
    '<script>document.title="pwned"</script>',
    '</script><script>document.title="pwned"</script>',
    '"><img src=x onerror="document.title=\'pwned\'">',
    "'><svg onload=alert(1)>",
    '\x1b[31mred\x1b[0m\u202eevil\u2028line',
    '<!--',
    ']]><![CDATA[',
  ];
  const { report, timeline } = bigIncident(400, (i) => `${evil[i % evil.length]}-${i}`);
  report.inputs.push({ file: '<img src=x>.pcap', kind: 'capture', format: 'pcap', why: '"><script>x</script>' });
  report.targets[0]!.name = '<b onmouseover=alert(1)>a</b>';
  timeline.lanes[0]!.name = report.targets[0]!.name; // as build() would have copied it from the targets
  report.anomalies.push({ name: 'sip_bad_start_line', count: 1, first: '<script>alert(1)</script> at offset 1' } as never);
  const html = renderHtml(report, timeline);

  it('no injected element or attribute survives', () => {
    expect(html).not.toMatch(/<script>document/);
    expect(html).not.toMatch(/<img\b/);
    expect(html).not.toMatch(/<svg onload/);
    expect(html).not.toMatch(/<b onmouseover/);
    // No event-handler attribute on any element (attribute values are quoted and never hold a raw quote).
    for (const m of html.matchAll(/<([a-zA-Z][\w:-]*)\b([^>]*)>/g)) expect(m[2]!.replace(/"[^"]*"/g, '""'), m[0]).not.toMatch(/\son\w+\s*=/i);
    expect(html).not.toMatch(/\x1b|\u202e|\u2028/);
    expect(html.match(/<script\b/g)?.length).toBe(2);
    expect(html.match(/<\/script>/g)?.length).toBe(2);
    expect(html).toContain('&lt;script&gt;document.title=&quot;pwned&quot;&lt;/script&gt;');
    expect(html).toContain('\\e[31mred\\e[0m\\u{202e}evil\\u{2028}line');
    expect(externalReferences(html)).toEqual([]);
  });

  it('the embedded data parses back to the (made visible) Call-IDs', () => {
    const json = /<script type="application\/json" id="stalepin-data">([^<]*)<\/script>/.exec(html)![1]!;
    const data = JSON.parse(json) as { calls: { id: string }[] };
    expect(data.calls.length).toBe(timeline.calls.length);
    expect(data.calls.some((c) => c.id.startsWith('</script><script>'))).toBe(true);
  });

  it('the markdown text timeline shows the backend names made visible', () => {
    const md = renderMarkdown(report, timeline);
    const block = md.slice(md.indexOf('## Timeline'), md.indexOf('## Findings'));
    expect(block).toContain('198.51.100.11:5060 <b onmouseover'); // inside a fenced block: shown, never markup
    expect(block).not.toMatch(/\x1b|`{3}[^\n]*\S[^\n]*`{3}/);
  });
});
