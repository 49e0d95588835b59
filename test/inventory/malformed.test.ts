import { describe, expect, it } from 'vitest';
import { StalepinError } from '../../src/core/errors.js';
import { formatWarning, loadInventory, nodeEndpoint, parseInventoryText } from '../../src/inventory/index.js';
import { endpointState } from '../../src/inventory/endpointslice.js';
import { parseToDestination, splitWords } from '../../src/inventory/iptables.js';

interface Case {
  name: string;
  text: string;
  nodes: string[];
  /** "code@line" (line omitted for JSON formats) */
  warnings: string[];
  incomplete: boolean;
}

const nodes = (text: string): string[] => parseInventoryText(text, 'f').nodes.map((n) => `${nodeEndpoint(n)} ${n.state}`);

const cases: Case[] = [
  {
    name: 'lines: bad address, bad state, missing state, bad since',
    text: '198.51.100.11 active\nnot-an-ip active\n198.51.100.12 dead\n198.51.100.13\n198.51.100.14:5060 terminated yesterday\n',
    nodes: ['198.51.100.11 active', '198.51.100.14:5060 terminated'],
    warnings: ['inventory_bad_line@2', 'inventory_bad_line@3', 'inventory_bad_line@4', 'inventory_bad_line@5'],
    incomplete: true,
  },
  {
    name: 'lines: CRLF, comments, IPv6 spellings are canonical',
    text: '# list\r\n2001:DB8:0:0::11 Active\r\n[2001:0db8::12]:5060 DRAINING  # old\r\n\r\n',
    nodes: ['2001:db8::11 active', '[2001:db8::12]:5060 draining'],
    warnings: [],
    incomplete: false,
  },
  {
    name: 'lines: an escape sequence in a bad line is shown, not sent',
    text: '198.51.100.11 active\n\x1b[31mevil\x1b[0m active\n',
    nodes: ['198.51.100.11 active'],
    warnings: ['inventory_bad_line@2'],
    incomplete: true,
  },
  {
    name: 'our JSON: bad entries are warnings, a bad state is unknown',
    text: JSON.stringify({
      nodes: [
        { address: '198.51.100.11', state: 'active' },
        { address: 'nope', state: 'active' },
        { address: '198.51.100.12', state: 'gone' },
        { address: '198.51.100.13', state: 'terminated', since: 'last week' },
        { address: '198.51.100.14:5060', port: 5070, state: 'active' },
        { address: '198.51.100.15', state: 'active', protocol: 'icmp', service: 'x' },
        7,
        { address: '198.51.100.16', state: 'terminated', since: 1714559400123 },
      ],
      services: ['203.0.113.10:5060', { address: 'bad' }],
    }),
    nodes: [
      '198.51.100.11 active',
      '198.51.100.12 unknown',
      '198.51.100.13 terminated',
      '198.51.100.14:5060 active',
      '198.51.100.15 active',
      '198.51.100.16 terminated',
    ],
    warnings: [
      'inventory_bad_node',
      'inventory_bad_node',
      'inventory_bad_node',
      'inventory_bad_node',
      'inventory_bad_node',
      'inventory_bad_node',
      'inventory_bad_node',
      'inventory_bad_service',
    ],
    incomplete: true,
  },
  {
    name: 'iptables-save: junk lines, DNAT without a target, port-only DNAT, bad quote',
    text: [
      '*nat',
      ':PREROUTING ACCEPT [0:0]',
      'garbage here',
      '-A PREROUTING -d 203.0.113.10/32 -p udp -m udp --dport 5060 -j DNAT',
      '-A PREROUTING -d 203.0.113.11/32 -p udp -m udp --dport 5060 -j DNAT --to-destination :5070',
      '-A PREROUTING -d 203.0.113.12/32 -p udp -m udp --dport 5060 -j DNAT --to-destination 198.51.100.12',
      '-A PREROUTING -m comment --comment "unterminated -j DNAT --to-destination 198.51.100.13',
      '-A PREROUTING -d 203.0.113.14/24 -p udp --dport 5060 -j DNAT --to-destination 198.51.100.14-198.51.100.15:5062',
      '-A PREROUTING ! -d 203.0.113.16/32 -p tcp -m multiport --dports 5060,5061 -j DNAT --to-destination 198.51.100.16',
      'COMMIT',
      'stray',
    ].join('\n'),
    nodes: [
      '198.51.100.12:5060 active',
      '198.51.100.14:5062 active',
      '198.51.100.15:5062 active',
      '198.51.100.16:5060 active',
      '198.51.100.16:5061 active',
    ],
    warnings: ['inventory_bad_line@3', 'inventory_bad_dnat@4', 'inventory_bad_dnat@5', 'inventory_bad_line@7', 'inventory_bad_line@11'],
    incomplete: true,
  },
  {
    name: 'iptables-save: only a filter table',
    text: '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p udp --dport 5060 -j ACCEPT\nCOMMIT\n',
    nodes: [],
    warnings: ['inventory_no_backends'],
    incomplete: false,
  },
  {
    name: 'iptables-save: concatenated v4 and v6 with the same chain names stay apart',
    text: [
      '*nat',
      ':PREROUTING ACCEPT [0:0]',
      ':SVC - [0:0]',
      '-A PREROUTING -d 203.0.113.10/32 -p udp --dport 5060 -j SVC',
      '-A SVC -j DNAT --to-destination 198.51.100.11:5060',
      'COMMIT',
      '*nat',
      ':PREROUTING ACCEPT [0:0]',
      ':SVC - [0:0]',
      '-A PREROUTING -d 2001:db8::10/128 -p udp --dport 5060 -j SVC',
      '-A SVC -j DNAT --to-destination [2001:db8:1::11]:5060',
      'COMMIT',
    ].join('\n'),
    nodes: ['198.51.100.11:5060 active', '[2001:db8:1::11]:5060 active'],
    warnings: [],
    incomplete: false,
  },
  {
    name: 'ipvsadm -Ln: names instead of numbers, a server before any service, junk',
    text: [
      'IP Virtual Server version 1.2.1 (size=4096)',
      'Prot LocalAddress:Port Scheduler Flags',
      '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
      '  -> 198.51.100.9:5060            Masq    1      0          0',
      'UDP  lb.example:sip rr',
      '  -> 198.51.100.10:5060           Masq    1      0          0',
      'UDP  203.0.113.10:5060 rr',
      '  -> backend-1:sip                Masq    1      0          0',
      '  -> 198.51.100.11:5060           Masq    0      0          0',
      'what is this',
    ].join('\n'),
    nodes: ['198.51.100.11:5060 draining'],
    warnings: ['inventory_bad_line@4', 'inventory_bad_line@5', 'inventory_bad_line@6', 'inventory_bad_line@8', 'inventory_bad_line@10'],
    incomplete: true,
  },
  {
    name: 'ipvsadm -Sn: default weight 1, bad weight, missing -r',
    text: [
      '-A -u 203.0.113.10:5060 -s rr',
      '-a -u 203.0.113.10:5060 -r 198.51.100.11:5060 -m',
      '-a -u 203.0.113.10:5060 -r 198.51.100.12:5060 -m -w x',
      '-a -u 203.0.113.10:5060 -m -w 1',
      '-a --udp-service [2001:db8::10]:5060 --real-server [2001:db8:1::11]:5060 --weight 0',
    ].join('\n'),
    nodes: ['198.51.100.11:5060 active', '[2001:db8:1::11]:5060 draining'],
    warnings: ['inventory_bad_line@3', 'inventory_bad_line@4'],
    incomplete: true,
  },
  {
    name: 'EndpointSlice: FQDN slice, bad address, no ports (any port), nil endpoints',
    text: JSON.stringify({
      kind: 'List',
      items: [
        { kind: 'EndpointSlice', addressType: 'FQDN', metadata: { name: 'a' }, endpoints: [{ addresses: ['x.example'] }] },
        {
          kind: 'EndpointSlice',
          addressType: 'IPv4',
          metadata: { name: 'b', namespace: 'ns', labels: { 'kubernetes.io/service-name': 's' } },
          endpoints: [{ addresses: ['198.51.100.1', 'nope'], conditions: { ready: true } }, { addresses: [] }],
          ports: null,
        },
        { kind: 'EndpointSlice', addressType: 'IPv4', metadata: { name: 'c' }, endpoints: null, ports: [{ port: 5060, protocol: 'UDP' }] },
      ],
    }),
    nodes: ['198.51.100.1 active'],
    warnings: ['inventory_k8s_fqdn', 'inventory_bad_node', 'inventory_bad_node'],
    incomplete: true,
  },
  {
    name: 'nft: unknown named map, port-only dnat, huge range, unknown expression',
    text: JSON.stringify({
      nftables: [
        { table: { family: 'ip', name: 't' } },
        { chain: { family: 'ip', table: 't', name: 'c', hook: 'prerouting', type: 'nat' } },
        { rule: { family: 'ip', table: 't', chain: 'c', handle: 1, expr: [{ dnat: { addr: { map: { key: { numgen: { mod: 2 } }, data: '@gone' } } } }] } },
        { rule: { family: 'ip', table: 't', chain: 'c', handle: 2, expr: [{ dnat: { port: 5070 } }] } },
        { rule: { family: 'ip', table: 't', chain: 'c', handle: 3, expr: [{ dnat: { addr: { prefix: { addr: '198.51.0.0', len: 16 } } } }] } },
        { rule: { family: 'ip', table: 't', chain: 'c', handle: 4, expr: [{ dnat: { addr: { fib: { result: 'oif' } } } }] } },
        { rule: { family: 'ip', table: 't', chain: 'c', handle: 5, expr: [{ dnat: { addr: { range: ['198.51.100.1', '198.51.100.3'] }, port: 5060 } }] } },
        { rule: { family: 'ip', table: 't', chain: 'loop', handle: 6, expr: [{ jump: { target: 'loop' } }] } },
      ],
    }),
    nodes: ['198.51.100.1:5060 active', '198.51.100.2:5060 active', '198.51.100.3:5060 active'],
    warnings: ['inventory_nft_unknown_set', 'inventory_nft_unsupported', 'inventory_range_too_large', 'inventory_nft_unsupported'],
    incomplete: true,
  },
];

describe('malformed input: warnings with lines, the rest still read', () => {
  it.each(cases)('$name', (c) => {
    const inv = parseInventoryText(c.text, 'case/inv');
    expect(inv.nodes.map((n) => `${nodeEndpoint(n)} ${n.state}`).sort()).toEqual([...c.nodes].sort());
    expect(inv.warnings.map((w) => (w.line === undefined ? w.code : `${w.code}@${w.line}`))).toEqual(c.warnings);
    expect(inv.incomplete !== undefined).toBe(c.incomplete);
    for (const w of inv.warnings) {
      expect(w.file).toBe('case/inv');
      expect(formatWarning(w)).toMatch(w.line === undefined ? /^case\/inv: / : new RegExp(`^case/inv:${w.line}: `));
      expect(w.message).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    }
  });
});

describe('broken or foreign files are one bad_input error', () => {
  const errs: [string, string, RegExp, number | undefined][] = [
    ['nft JSON cut short', '{"nftables": [{"table": {"family": "ip",\n "name": "x"', /looks like nft -j list ruleset but is not valid JSON/, 2],
    ['our JSON with nodes not an array', '{"nodes": [1, 2', /looks like stalepin JSON .* not valid JSON/, 1],
    // V8 gives no position for an unexpected token: then there is no line either.
    ['EndpointSlice JSON with a stray brace', '{"kind": "EndpointSlice" , "x": [}', /looks like Kubernetes EndpointSlice JSON but is not valid JSON/, undefined],
    ['EndpointSlice kind on a non-list', '{"kind": "EndpointSliceList", "items": 3}', /looks like Kubernetes EndpointSlice JSON but its "items" is not an array/, undefined],
  ];
  it.each(errs)('%s', (_n, text, re, line) => {
    try {
      parseInventoryText(text, 'f.json');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(StalepinError);
      const err = e as StalepinError;
      expect(err.code).toBe('bad_input');
      expect(err.message).toMatch(re);
      expect(err.location.line).toBe(line);
    }
  });

  it('a missing file', async () => {
    await expect(loadInventory('/nonexistent/inventory.json')).rejects.toThrow(/cannot read inventory: no such file/);
  });
  it('a directory', async () => {
    await expect(loadInventory('/')).rejects.toThrow(/cannot read inventory: is a directory/);
  });
  it('a pcap file names its first bytes', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const d = mkdtempSync(tmpdir() + '/spinv-');
    writeFileSync(d + '/x.pcap', Buffer.from([0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0]));
    const e = await loadInventory(d + '/x.pcap').catch((x: StalepinError) => x);
    expect((e as StalepinError).oneLine()).toMatch(/x\.pcap: not a backend inventory: tried .*; found binary data \(first bytes d4 c3 b2 a1 02 00 04 00\)/);
  });
});

describe('EndpointSlice conditions', () => {
  const t: [unknown, string][] = [
    [{ ready: true, serving: true, terminating: false }, 'active'],
    [{ ready: true }, 'active'],
    [{}, 'active'],
    [undefined, 'active'],
    [{ ready: true, serving: true, terminating: true }, 'draining'],
    [{ ready: false, serving: true, terminating: true }, 'draining'],
    [{ ready: false, serving: true, terminating: false }, 'draining'],
    [{ ready: false, serving: false, terminating: true }, 'terminated'],
    [{ ready: false, terminating: true }, 'terminated'],
    [{ ready: false, serving: false, terminating: false }, 'unresponsive'],
    [{ ready: false }, 'unresponsive'],
    [{ ready: null, serving: null, terminating: null }, 'active'],
  ];
  it.each(t)('%j -> %s', (c, s) => expect(endpointState(c)).toBe(s));
});

describe('iptables details', () => {
  const dest: [string, string][] = [
    ['198.51.100.11', '198.51.100.11'],
    ['198.51.100.11:5060', '198.51.100.11:5060'],
    ['198.51.100.11:5060-5070', '198.51.100.11'],
    ['198.51.100.11-198.51.100.12:5060', '198.51.100.11:5060 198.51.100.12:5060'],
    ['[2001:db8::11]:5060', '[2001:db8::11]:5060'],
    ['2001:db8::11', '2001:db8::11'],
    ['[2001:db8::11]-[2001:db8::12]:5060', '[2001:db8::11]:5060 [2001:db8::12]:5060'],
    [':5070', 'error'],
    ['999.1.1.1', 'error'],
    ['198.51.0.0-198.51.255.255', 'error'],
  ];
  it.each(dest)('--to-destination %s', (v, want) => {
    const r = parseToDestination(v);
    expect(typeof r === 'string' ? 'error' : r.map((t) => nodeEndpoint({ address: t.ip, port: t.port })).join(' ')).toBe(want);
  });
  const words: [string, string[] | undefined][] = [
    ['-A X -m comment --comment "a b" -j Y', ['-A', 'X', '-m', 'comment', '--comment', 'a b', '-j', 'Y']],
    ['-A X --comment "say \\"hi\\""', ['-A', 'X', '--comment', 'say "hi"']],
    ['-A X --comment "open', undefined],
  ];
  it.each(words)('splitWords %s', (l, w) => expect(splitWords(l)).toEqual(w));
  it('nodes() helper agrees', () => expect(nodes('198.51.100.1 active\n')).toEqual(['198.51.100.1 active']));
});
