import { describe, expect, it } from 'vitest';
import { findNode, isService, merge, nodeEndpoint, parseInventoryText, stateOf, type Inventory } from '../../src/inventory/index.js';

const nft = parseInventoryText(
  JSON.stringify({
    nftables: [
      { chain: { family: 'ip', table: 't', name: 'c', hook: 'prerouting', type: 'nat' } },
      {
        rule: {
          family: 'ip',
          table: 't',
          chain: 'c',
          expr: [
            { match: { op: '==', left: { payload: { protocol: 'ip', field: 'daddr' } }, right: '203.0.113.10' } },
            { match: { op: '==', left: { payload: { protocol: 'udp', field: 'dport' } }, right: 5060 } },
            { dnat: { addr: { map: { key: { numgen: { mode: 'inc', mod: 2 } }, data: { set: [[0, '198.51.100.11'], [1, '198.51.100.12']] } } }, port: 5060 } },
          ],
        },
      },
    ],
  }),
  'rules.json',
);
const list = parseInventoryText('198.51.100.11 terminated 2024-05-01T10:30:00Z\n198.51.100.13:5060 active\n2001:db8::11 draining\n', 'nodes.txt');
const ipvs = parseInventoryText(
  ['-A -u 203.0.113.10:5060 -s rr', '-a -u 203.0.113.10:5060 -r 198.51.100.21:5060 -m -w 0', '-A -u 203.0.113.20:5060 -s rr', '-a -u 203.0.113.20:5060 -r 198.51.100.21:5060 -m -w 1', '-A -t 203.0.113.30:5061 -s rr'].join('\n'),
  'ipvs.txt',
);

describe('stateOf', () => {
  const t: [string, Inventory, string, number | undefined, object | undefined, string | undefined][] = [
    ['exact port', nft, '198.51.100.11', 5060, undefined, 'active'],
    ['other port not listed', nft, '198.51.100.11', 5070, undefined, undefined],
    ['no port asked: any entry', nft, '198.51.100.12', undefined, undefined, 'active'],
    ['not listed', nft, '198.51.100.99', 5060, undefined, undefined],
    ['port-less node matches any port', list, '198.51.100.11', 5999, undefined, 'terminated'],
    ['port-less node, no port asked', list, '198.51.100.11', undefined, undefined, 'terminated'],
    ['ported node, other port', list, '198.51.100.13', 5070, undefined, undefined],
    ['IPv6 non-canonical spelling', list, '2001:DB8:0::11', 5060, undefined, 'draining'],
    ['in two services: the most alive wins', ipvs, '198.51.100.21', 5060, undefined, 'active'],
    ['in two services: the named one wins', ipvs, '198.51.100.21', 5060, { service: '203.0.113.10:5060' }, 'draining'],
    ['protocol mismatch', ipvs, '198.51.100.21', 5060, { protocol: 'tcp' }, undefined],
    ['protocol match', ipvs, '198.51.100.21', 5060, { protocol: 'UDP' }, 'active'],
  ];
  it.each(t)('%s', (_n, inv, ip, port, opts, want) => expect(stateOf(inv, ip, port, opts)).toBe(want));

  it('an exact port entry wins over a port-less one', () => {
    const inv = parseInventoryText('198.51.100.11 terminated\n198.51.100.11:5060 active\n', 'x');
    expect(stateOf(inv, '198.51.100.11', 5060)).toBe('active');
    expect(stateOf(inv, '198.51.100.11', 5061)).toBe('terminated');
  });

  it('sees nodes added after the first lookup', () => {
    const inv = parseInventoryText('198.51.100.11 active\n', 'x');
    expect(stateOf(inv, '198.51.100.12')).toBeUndefined();
    inv.nodes.push({ address: '198.51.100.12', state: 'terminated' });
    expect(stateOf(inv, '198.51.100.12')).toBe('terminated');
  });

  /** The inventory with its node and service lists counting the elements read from them. */
  function counting(inv: Inventory): { inv: Inventory; reads: () => number } {
    let n = 0;
    const wrap = <T extends object>(a: T[]): T[] =>
      new Proxy(a, {
        get(t, k, r) {
          if (typeof k === 'string' && /^\d+$/.test(k)) n++;
          return Reflect.get(t, k, r) as unknown;
        },
      });
    return { inv: { ...inv, nodes: wrap(inv.nodes), services: wrap(inv.services) }, reads: () => n };
  }

  it('lookups go through an index: the lists are read once, not per lookup', () => {
    const { inv, reads } = counting(nft);
    let active = 0;
    for (let i = 0; i < 100_000; i++) if (stateOf(inv, i & 1 ? '198.51.100.11' : '198.51.100.12', 5060) === 'active') active++;
    expect(active).toBe(100_000);
    expect(reads()).toBe(nft.nodes.length + nft.services.length);
  });

  it('misses (addresses that are no service or backend) read the lists no more than hits', () => {
    const { inv, reads } = counting(nft);
    let hits = 0;
    for (let i = 0; i < 100_000; i++) {
      const ip = i & 1 ? `192.0.2.${i & 255}` : `2001:db8:c::${(i & 255).toString(16)}`;
      if (isService(inv, ip, 5060, 'udp') || stateOf(inv, ip, 5060) !== undefined) hits++;
    }
    expect(hits).toBe(0);
    expect(reads()).toBe(nft.nodes.length + nft.services.length);
  });
});

describe('isService', () => {
  const t: [string, Inventory, string, number | undefined, string | undefined, boolean][] = [
    ['VIP and port', nft, '203.0.113.10', 5060, undefined, true],
    ['VIP, other port', nft, '203.0.113.10', 5061, undefined, false],
    ['VIP, any port', nft, '203.0.113.10', undefined, undefined, true],
    ['VIP, protocol udp', nft, '203.0.113.10', 5060, 'udp', true],
    ['VIP, protocol tcp', nft, '203.0.113.10', 5060, 'tcp', false],
    ['a backend is not a service', nft, '198.51.100.11', 5060, undefined, false],
    ['ipvs tcp service without servers', ipvs, '203.0.113.30', 5061, 'tcp', true],
    ['plain lines name no services', list, '203.0.113.10', 5060, undefined, false],
  ];
  it.each(t)('%s', (_n, inv, ip, port, proto, want) => expect(isService(inv, ip, port, proto)).toBe(want));

  it('a port-less service matches any port', () => {
    const inv = parseInventoryText(JSON.stringify({ nodes: [], services: ['2001:db8::10'] }), 'x');
    expect(isService(inv, '2001:db8::10', 5060)).toBe(true);
    expect(isService(inv, '2001:0db8::0010', 5060, 'udp')).toBe(true);
  });
});

describe('merge', () => {
  const m = merge([nft, list]);
  const rows = (inv: Inventory): string[] => inv.nodes.map((n) => `${nodeEndpoint(n)} ${n.state} ${n.service ?? '-'} ${n.origin}`).sort();

  it('later sources win per node and keep the earlier port and service; provenance stays', () => {
    expect(rows(m)).toEqual(
      [
        '198.51.100.11:5060 terminated 203.0.113.10:5060 nodes.txt',
        '198.51.100.11 terminated - nodes.txt',
        '198.51.100.12:5060 active 203.0.113.10:5060 rules.json',
        '198.51.100.13:5060 active - nodes.txt',
        '2001:db8::11 draining - nodes.txt',
      ].sort(),
    );
    expect(findNode(m, '198.51.100.11', 5060)?.since).toEqual({ sec: 1714559400, nsec: 0 });
    expect(m.source.format).toBe('merged');
    expect(m.sources?.map((s) => `${s.file} ${s.format}`)).toEqual(['rules.json nft-json', 'nodes.txt lines']);
    expect(m.source.why).toMatch(/merged from 2 sources/);
    expect(isService(m, '203.0.113.10', 5060)).toBe(true);
  });

  it('order matters: the rules read last make the node active again', () => {
    expect(stateOf(merge([list, nft]), '198.51.100.11', 5060)).toBe('active');
    expect(stateOf(merge([list, nft]), '198.51.100.11', 5070)).toBe('terminated');
  });

  it('a ported later node does not override the earlier node for other ports', () => {
    const a = parseInventoryText('198.51.100.11 active\n', 'a');
    const b = parseInventoryText('198.51.100.11:5060 terminated\n', 'b');
    const ab = merge([a, b]);
    expect(stateOf(ab, '198.51.100.11', 5060)).toBe('terminated');
    expect(stateOf(ab, '198.51.100.11', 5080)).toBe('active');
  });

  it('keeps warnings and incompleteness of every source', () => {
    const bad = parseInventoryText('198.51.100.11 active\nbad line\n', 'bad.txt');
    const mm = merge([nft, bad]);
    expect(mm.warnings.map((w) => `${w.file}:${w.line}`)).toEqual(['bad.txt:2']);
    expect(mm.incomplete).toMatch(/^bad\.txt: line 2: /);
    expect(merge([nft]).incomplete).toBeUndefined();
  });

  it('merging merged inventories keeps every source', () => {
    expect(merge([m, ipvs]).sources?.length).toBe(3);
  });
});
