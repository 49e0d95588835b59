import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { detectAll, detectInventory } from '../../src/inventory/detect.js';
import { parseInventoryText } from '../../src/inventory/index.js';
import { StalepinError } from '../../src/core/errors.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const invDir = path.join(repo, 'fixtures/inventory');

const expected: Record<string, string> = {
  'nft-plain.json': 'nft-json',
  'nft-numgen-jhash.json': 'nft-json',
  'nft-named-map.json': 'nft-json',
  'nft-ipv6.json': 'nft-json',
  'nft-kube-proxy.json': 'nft-json',
  'nft-from-iptables.json': 'nft-json',
  'iptables-save.txt': 'iptables-save',
  'ip6tables-save.txt': 'iptables-save',
  'ipvsadm-Ln.txt': 'ipvsadm-list',
  'ipvsadm-Ln-stats.txt': 'ipvsadm-list',
  'ipvsadm-Sn.txt': 'ipvsadm-save',
  'proc-net-ip_vs.txt': 'ipvsadm-list',
  'endpointslices-list.json': 'k8s-endpointslices',
  'endpointslice-single.json': 'k8s-endpointslices',
  'endpointslicelist-api.json': 'k8s-endpointslices',
  'svc-and-endpointslices.json': 'k8s-endpointslices',
  'nodes.json': 'stalepin-json',
  'nodes.txt': 'lines',
};

const fixtureFiles = readdirSync(invDir).filter((f) => statSync(path.join(invDir, f)).isFile() && !/\.(sh|md)$/.test(f));

describe('every inventory fixture is recognised by exactly one detector', () => {
  it('covers every fixture in the folder', () => {
    expect(fixtureFiles.sort()).toEqual(Object.keys(expected).sort());
  });
  it.each(fixtureFiles)('%s', (f) => {
    const text = readFileSync(path.join(invDir, f), 'utf8');
    expect(detectAll(text)).toEqual([expected[f]]);
    expect(detectInventory(text)).toBe(expected[f]);
  });
});

// Texts that sit next to inventories in a case folder and must never be read as one.
const negatives: [string, string][] = [
  ['conntrack -L', 'udp      17 27 src=192.0.2.10 dst=203.0.113.10 sport=5061 dport=5070 [UNREPLIED] src=198.51.100.30 dst=192.0.2.10 sport=5060 dport=5061 mark=0 use=1\n'],
  ['conntrack -L -o extended', 'ipv4     2 udp      17 29 src=192.0.2.10 dst=203.0.113.10 sport=5060 dport=5060 src=198.51.100.11 dst=192.0.2.10 sport=5060 dport=5060 [ASSURED] mark=0 use=1\n'],
  ['conntrack -E', '    [NEW] udp      17 30 src=192.0.2.10 dst=203.0.113.10 sport=5060 dport=5060 [UNREPLIED] src=198.51.100.20 dst=192.0.2.10 sport=5060 dport=5060\n'],
  ['conntrack -o save', '-A -t 27 -u UNSET -s 192.0.2.10 -d 203.0.113.10 -g 198.51.100.30 -q 192.0.2.10 -p udp --sport 5061 --dport 5070\n'],
  ['conntrack -o xml', '<?xml version="1.0" encoding="utf-8"?>\n<conntrack><flow type="new"></flow></conntrack>\n'],
  ['ipvsadm -Lnc', 'IP Virtual Server version 1.2.1 (size=4096)\nIPVS connection entries\npro expire state source virtual destination\n'],
  ['/proc/net/ip_vs_conn', 'Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\nUDP C000020A 13C4 CB00710A 13C4 C633640B 13C4 UDP             299\n'],
  ['SIP INVITE', 'INVITE sip:bob@203.0.113.10 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK1\r\nCall-ID: a@b\r\n\r\n'],
  ['SIP response', 'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.10:5060\r\n\r\n'],
  ['pcap', '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00'],
  ['pcapng', '\x0a\x0d\x0d\x0a\x1c\x00\x00\x00\x4d\x3c\x2b\x1a'],
  ['gzip', '\x1f\x8b\x08\x00\x00\x00\x00\x00'],
  ['empty', ''],
  ['blank and comments', '\n# nothing\n\n'],
  ['stalepin report JSON', '{"schema":"stalepin/report@1","targets":[{"address":"198.51.100.11:5060","state":"terminated"}]}'],
  ['kubectl pods', '{"apiVersion":"v1","kind":"List","items":[{"kind":"Pod","metadata":{"name":"p"}}]}'],
  ['a JSON array', '[1,2,3]'],
  ['prose', 'The backend 198.51.100.11 was terminated at 10:30.\n'],
  ['address list without states', '198.51.100.11\n198.51.100.12\n'],
  ['nft text ruleset', 'table ip lb {\n  chain prerouting {\n    ip daddr 203.0.113.10 udp dport 5060 dnat to 198.51.100.11\n  }\n}\n'],
];

describe('never an inventory', () => {
  it.each(negatives)('%s', (_name, text) => {
    expect(detectAll(text)).toEqual([]);
    expect(detectInventory(text)).toBeUndefined();
    expect(() => parseInventoryText(text, 'case/file')).toThrow(StalepinError);
  });

  it.each(negatives)('%s: the error says what was tried and what was found, visibly', (_name, text) => {
    try {
      parseInventoryText(text, 'case/file');
      expect.unreachable();
    } catch (e) {
      const err = e as StalepinError;
      expect(err.code).toBe('bad_input');
      expect(err.exitCode).toBe(2);
      const line = err.oneLine();
      expect(line).toMatch(/^case\/file: not a backend inventory: tried .*nft -j list ruleset.*ipvsadm -Sn; found /);
      expect(line).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    }
  });

  const notDir = path.join(invDir, 'not');
  it.each(readdirSync(notDir))('fixtures/inventory/not/%s', (f) => {
    expect(detectAll(readFileSync(path.join(notDir, f), 'utf8'))).toEqual([]);
  });

  // The conntrack helper's recorded dumps and the shared SIP captures sit in case folders too.
  const ctDir = path.join(repo, 'fixtures/conntrack/real');
  const ctFiles = existsSync(ctDir) ? readdirSync(ctDir).filter((f) => f !== 'RECORDED.txt') : [];
  it.skipIf(ctFiles.length === 0)('no recorded conntrack dump is an inventory', () => {
    if (ctFiles.length === 0) console.log('skipped: fixtures/conntrack/real is absent');
    for (const f of ctFiles) expect([f, detectAll(readFileSync(path.join(ctDir, f), 'utf8'))]).toEqual([f, []]);
  });

  const capDir = path.resolve(repo, '..', 'shared', 'captures');
  const walk = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
  const caps = existsSync(capDir) ? walk(capDir) : [];
  it.skipIf(caps.length === 0)('no shared capture (or its manifest) is an inventory', () => {
    for (const f of caps) {
      const head = readFileSync(f).subarray(0, 65536).toString('utf8');
      expect([path.relative(capDir, f), detectAll(head)]).toEqual([path.relative(capDir, f), []]);
    }
  });
  if (caps.length === 0) console.log(`skipped shared captures: ${capDir} is absent`);
});

describe('detection is cheap', () => {
  it('looks at the head only', () => {
    const big = 'x'.repeat(64 * 1024 * 1024);
    expect(detectInventory('198.51.100.11 active\n' + big)).toBe('lines');
    expect(detectInventory(big)).toBeUndefined();
    // Past the head, lines that are no inventory's would outvote the first one, were they read.
    expect(detectInventory('198.51.100.11 active\n' + 'x'.repeat(70_000) + '\n' + 'not an address\n'.repeat(10))).toBe('lines');
    expect(detectInventory('198.51.100.11 active\n' + 'not an address\n'.repeat(10))).toBeUndefined();
  });
});
