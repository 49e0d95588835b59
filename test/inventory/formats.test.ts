import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatIso } from '../../src/core/time.js';
import { loadInventory, nodeEndpoint, parseInventoryText, type Inventory } from '../../src/inventory/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fx = (f: string): string => path.resolve(here, '../../fixtures/inventory', f);

/** One compact line per node: "ip:port state proto service serviceName name since". */
function rows(inv: Inventory): string[] {
  return inv.nodes
    .map((n) =>
      [
        nodeEndpoint(n),
        n.state,
        n.protocol ?? '-',
        n.service ?? '-',
        n.serviceName ?? '-',
        n.name ?? '-',
        n.since ? formatIso(n.since.sec, n.since.nsec) : '-',
      ].join(' '),
    )
    .sort();
}
const svcs = (inv: Inventory): string[] => inv.services.map((s) => `${s.address} ${s.port ?? '*'} ${s.protocol ?? '*'}`).sort();

interface Case {
  file: string;
  format: Inventory['source']['format'];
  nodes: string[];
  services: string[];
  warnings?: string[];
  incomplete?: boolean;
}

const cases: Case[] = [
  {
    file: 'nft-plain.json',
    format: 'nft-json',
    nodes: ['198.51.100.11:5060 active udp 203.0.113.10:5060 - - -', '198.51.100.11:5061 active tcp 203.0.113.10:5061 - - -'],
    services: ['203.0.113.10 5060 udp', '203.0.113.10 5061 tcp'],
  },
  {
    file: 'nft-numgen-jhash.json',
    format: 'nft-json',
    nodes: [
      '198.51.100.11:5060 active udp 203.0.113.10:5060 - - -',
      '198.51.100.12:5060 active udp 203.0.113.10:5060 - - -',
      '198.51.100.21:5080 active udp 203.0.113.20:5060 - - -',
      '198.51.100.22:5080 active udp 203.0.113.20:5060 - - -',
      '198.51.100.23:5080 active udp 203.0.113.20:5060 - - -',
      '198.51.100.31:5070 active udp 203.0.113.30:5060 - - -',
      '198.51.100.32:5071 active udp 203.0.113.30:5060 - - -',
      '198.51.100.41:5060 active udp 203.0.113.40:5060 - - -',
      '198.51.100.42:5060 active udp 203.0.113.40:5060 - - -',
    ],
    services: ['203.0.113.10 5060 udp', '203.0.113.20 5060 udp', '203.0.113.30 5060 udp', '203.0.113.40 5060 udp'],
  },
  {
    file: 'nft-named-map.json',
    format: 'nft-json',
    nodes: [
      '198.51.100.11:5060 active udp 203.0.113.10:5060 - - -',
      '198.51.100.12:5062 active udp 203.0.113.11:5060 - - -',
      '198.51.100.21:5060 active udp 203.0.113.20:5060 - - -',
      '198.51.100.22:5060 active udp 203.0.113.20:5060 - - -',
      '198.51.100.31:5060 active udp 203.0.113.30:5060 - - -',
    ],
    services: ['203.0.113.10 5060 udp', '203.0.113.11 5060 udp', '203.0.113.20 5060 udp', '203.0.113.30 5060 udp'],
  },
  {
    file: 'nft-ipv6.json',
    format: 'nft-json',
    nodes: [
      '[2001:db8:1::11]:5060 active udp [2001:db8::10]:5060 - - -',
      '[2001:db8:1::21]:5060 active udp [2001:db8::20]:5060 - - -',
      '[2001:db8:1::22]:5060 active udp [2001:db8::20]:5060 - - -',
    ],
    services: ['2001:db8::10 5060 udp', '2001:db8::20 5060 udp'],
  },
  {
    file: 'nft-kube-proxy.json',
    format: 'nft-json',
    nodes: [
      '198.51.100.61:5060 active tcp 203.0.113.50:5060 - - -',
      '198.51.100.61:5060 active udp 203.0.113.50:5060 - - -',
      '198.51.100.62:5060 active udp 203.0.113.50:5060 - - -',
    ],
    services: ['203.0.113.50 5060 tcp', '203.0.113.50 5060 udp'],
  },
  {
    file: 'nft-from-iptables.json',
    format: 'nft-json',
    nodes: [],
    services: [],
    warnings: [...Array(6).fill('inventory_nft_xt_dnat'), 'inventory_no_backends'],
    incomplete: true,
  },
  {
    file: 'iptables-save.txt',
    format: 'iptables-save',
    nodes: [
      '198.51.100.11:5060 active udp 203.0.113.10:5060 - - -',
      '198.51.100.12:5061 active tcp 203.0.113.11:5061 - - -',
      '198.51.100.61:5060 active udp 203.0.113.50:5060 sip/proxy:sip - -',
      '198.51.100.62:5060 active udp 203.0.113.50:5060 sip/proxy:sip - -',
    ],
    services: ['203.0.113.10 5060 udp', '203.0.113.11 5061 tcp', '203.0.113.50 5060 udp'],
  },
  {
    file: 'ip6tables-save.txt',
    format: 'iptables-save',
    nodes: ['[2001:db8:1::11]:5060 active udp [2001:db8::10]:5060 - - -', '[2001:db8:1::22]:5060 active udp [2001:db8::20]:5060 - - -'],
    services: ['2001:db8::10 5060 udp', '2001:db8::20 5060 udp'],
  },
  {
    file: 'ipvsadm-Ln.txt',
    format: 'ipvsadm-list',
    nodes: [
      '198.51.100.11:5060 active udp 203.0.113.10:5060 - - -',
      '198.51.100.11:5061 active tcp 203.0.113.10:5061 - - -',
      '198.51.100.12:5060 draining udp 203.0.113.10:5060 - - -',
      '198.51.100.13:5060 active udp 203.0.113.10:5060 - - -',
      '198.51.100.21 active - - - - -',
      '[2001:db8:1::11]:5060 active udp [2001:db8::10]:5060 - - -',
      '[2001:db8:1::12]:5060 draining udp [2001:db8::10]:5060 - - -',
    ],
    services: ['2001:db8::10 5060 udp', '203.0.113.10 5060 udp', '203.0.113.10 5061 tcp'],
  },
  {
    file: 'ipvsadm-Sn.txt',
    format: 'ipvsadm-save',
    nodes: [
      '198.51.100.11:5060 active udp 203.0.113.10:5060 - - -',
      '198.51.100.11:5061 active tcp 203.0.113.10:5061 - - -',
      '198.51.100.12:5060 draining udp 203.0.113.10:5060 - - -',
      '198.51.100.13:5060 active udp 203.0.113.10:5060 - - -',
      '198.51.100.21 active - - - - -',
      '[2001:db8:1::11]:5060 active udp [2001:db8::10]:5060 - - -',
      '[2001:db8:1::12]:5060 draining udp [2001:db8::10]:5060 - - -',
    ],
    services: ['2001:db8::10 5060 udp', '203.0.113.10 5060 udp', '203.0.113.10 5061 tcp'],
  },
  {
    file: 'proc-net-ip_vs.txt',
    format: 'ipvsadm-list',
    nodes: [
      '198.51.100.11:5060 active udp 203.0.113.10:5060 - - -',
      '198.51.100.12:5060 draining udp 203.0.113.10:5060 - - -',
      '198.51.100.21 active - - - - -',
      '[2001:db8:1::11]:5060 active udp [2001:db8::10]:5060 - - -',
    ],
    services: ['2001:db8::10 5060 udp', '203.0.113.10 5060 udp'],
  },
  {
    file: 'ipvsadm-Ln-stats.txt',
    format: 'ipvsadm-list',
    nodes: ['198.51.100.11:5060 active udp 203.0.113.10:5060 - - -', '198.51.100.12:5060 active udp 203.0.113.10:5060 - - -'],
    services: ['203.0.113.10 5060 udp'],
    warnings: ['inventory_ipvs_no_weight'],
  },
  {
    file: 'endpointslices-list.json',
    format: 'k8s-endpointslices',
    nodes: [
      '198.51.100.61:5060 active tcp - sip/proxy proxy-0 -',
      '198.51.100.61:5060 active udp - sip/proxy proxy-0 -',
      '198.51.100.62:5060 draining tcp - sip/proxy proxy-1 -',
      '198.51.100.62:5060 draining udp - sip/proxy proxy-1 -',
      '198.51.100.63:5060 terminated tcp - sip/proxy proxy-2 -',
      '198.51.100.63:5060 terminated udp - sip/proxy proxy-2 -',
      '198.51.100.64:5060 unresponsive tcp - sip/proxy proxy-3 -',
      '198.51.100.64:5060 unresponsive udp - sip/proxy proxy-3 -',
      '198.51.100.65:5060 active tcp - sip/proxy proxy-4 -',
      '198.51.100.65:5060 active udp - sip/proxy proxy-4 -',
      '[2001:db8:1::61]:5060 active udp - sip/proxy proxy-0 -',
      '[2001:db8:1::62]:5060 draining udp - sip/proxy proxy-1 -',
    ],
    services: [],
  },
  {
    file: 'endpointslice-single.json',
    format: 'k8s-endpointslices',
    nodes: ['198.51.100.61:5060 active udp - sip/proxy proxy-0 -', '198.51.100.62:5060 draining udp - sip/proxy proxy-1 -'],
    services: [],
  },
  {
    file: 'endpointslicelist-api.json',
    format: 'k8s-endpointslices',
    nodes: ['198.51.100.61:5060 active udp - sip/proxy proxy-0 -', '198.51.100.62:5060 draining udp - sip/proxy proxy-1 -'],
    services: [],
  },
  {
    file: 'svc-and-endpointslices.json',
    format: 'k8s-endpointslices',
    nodes: [
      '198.51.100.61:5060 active tcp 203.0.113.50:5061 sip/proxy proxy-0 -',
      '198.51.100.61:5060 active udp 203.0.113.50:5060 sip/proxy proxy-0 -',
      '198.51.100.62:5060 draining tcp 203.0.113.50:5061 sip/proxy proxy-1 -',
      '198.51.100.62:5060 draining udp 203.0.113.50:5060 sip/proxy proxy-1 -',
      '198.51.100.63:5060 terminated tcp 203.0.113.50:5061 sip/proxy proxy-2 -',
      '198.51.100.63:5060 terminated udp 203.0.113.50:5060 sip/proxy proxy-2 -',
      '198.51.100.64:5060 unresponsive tcp 203.0.113.50:5061 sip/proxy proxy-3 -',
      '198.51.100.64:5060 unresponsive udp 203.0.113.50:5060 sip/proxy proxy-3 -',
      '198.51.100.65:5060 active tcp 203.0.113.50:5061 sip/proxy proxy-4 -',
      '198.51.100.65:5060 active udp 203.0.113.50:5060 sip/proxy proxy-4 -',
      '[2001:db8:1::61]:5060 active udp [2001:db8::50]:5060 sip/proxy proxy-0 -',
      '[2001:db8:1::62]:5060 draining udp [2001:db8::50]:5060 sip/proxy proxy-1 -',
    ],
    services: [
      '192.0.2.50 5060 udp',
      '192.0.2.50 5061 tcp',
      '2001:db8::50 5060 udp',
      '203.0.113.50 5060 udp',
      '203.0.113.50 5061 tcp',
      '203.0.113.51 5060 udp',
      '203.0.113.51 5061 tcp',
    ],
  },
  {
    file: 'nodes.json',
    format: 'stalepin-json',
    nodes: [
      '198.51.100.11:5060 terminated - - - sip-a 2024-05-01T10:30:00.250000000Z',
      '198.51.100.12:5060 active - - - sip-b 2024-05-01T10:30:00.000000000Z',
      '198.51.100.13 unresponsive - - - - -',
      '[2001:db8:1::11]:5060 draining udp [2001:db8::10]:5060 - sip-a6 2024-05-01T08:29:00.000000000Z',
    ],
    services: ['2001:db8::10 5060 *', '2001:db8::10 5060 udp', '203.0.113.10 5060 udp'],
  },
  {
    file: 'nodes.txt',
    format: 'lines',
    nodes: [
      '198.51.100.11:5060 terminated - - - - 2024-05-01T10:30:00.000000000Z',
      '198.51.100.12:5060 active - - - - -',
      '198.51.100.13 unresponsive - - - - 2024-05-01T10:31:02.123456789Z',
      '[2001:db8:1::11]:5060 draining - - - - 2024-05-01T10:30:00.500000000Z',
    ],
    services: [],
  },
];

describe('inventory fixtures (real nft/iptables recordings, ipvsadm and EndpointSlice documents, our formats)', () => {
  it.each(cases)('$file', async (c) => {
    const inv = await loadInventory(fx(c.file));
    expect(inv.source.format).toBe(c.format);
    expect(inv.source.file).toBe(fx(c.file));
    expect(inv.source.why.length).toBeGreaterThan(10);
    expect(rows(inv)).toEqual([...c.nodes].sort());
    expect(svcs(inv)).toEqual([...c.services].sort());
    expect(inv.warnings.map((w) => w.code)).toEqual(c.warnings ?? []);
    expect(inv.incomplete !== undefined).toBe(c.incomplete ?? false);
    for (const n of inv.nodes) expect(n.origin).toBe(fx(c.file));
  });

  it('reads the same inventory from text as from the file, and from stdin', async () => {
    const text = readFileSync(fx('nft-kube-proxy.json'), 'utf8');
    const a = parseInventoryText(text, 'x.json');
    const { Readable } = await import('node:stream');
    const b = await loadInventory('-', { stdin: Readable.from([Buffer.from(text)]) });
    expect(rows(a)).toEqual(rows(b));
    expect(b.source.file).toBe('<stdin>');
  });
});
