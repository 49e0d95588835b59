import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StalepinError } from '../../src/core/errors.js';
import { isService, nodeEndpoint, stateOf } from '../../src/inventory/index.js';
import { classifyFailure, readLiveRules } from '../../src/inventory/live.js';

const has = (bin: string): boolean => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;
const isRoot = process.getuid?.() === 0;

describe('live failures become one clear error', () => {
  type R = Parameters<typeof classifyFailure>[3];
  const enoent = (p: string): R => ({ stdout: '', stderr: '', code: null, spawnError: Object.assign(new Error('spawn'), { code: 'ENOENT', path: p }) });
  const fail = (stderr: string, code: number): R => ({ stdout: '', stderr, code });
  const NFT = ['nft -j list ruleset', 'nftables'] as const;
  const IPT = ['iptables-save', 'iptables'] as const;
  const IPVS = ['ipvsadm -Ln', 'ipvsadm'] as const;
  // stderr texts as the tools print them (captured on Debian 12: nft 1.0.6, iptables 1.8.9, ipvsadm 1.31)
  const t: [string, readonly [string, string], R, string | undefined, string, RegExp][] = [
    ['binary missing', NFT, enoent('nft'), undefined, 'missing_dependency', /nft not found: install nftables/],
    ['ip missing', NFT, enoent('ip'), 'lb', 'missing_dependency', /install iproute2/],
    ['nft not root', NFT, fail('Operation not permitted (you must be root)\nnetlink: Error: cache initialization failed: Operation not permitted\n', 1), undefined, 'permission', /nft -j list ruleset needs CAP_NET_ADMIN/],
    ['iptables not root', IPT, fail('iptables-save v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)\n', 4), undefined, 'permission', /iptables-save needs CAP_NET_ADMIN/],
    ['ipvsadm not root', IPVS, fail("Can't initialize ipvs: Permission denied (you must be root)\nAre you sure that IP Virtual Server is built in the kernel or as module?\n", 2), undefined, 'permission', /ipvsadm -Ln needs CAP_NET_ADMIN/],
    ['kernel without IPVS', IPVS, fail("Can't initialize ipvs: Protocol not available\nAre you sure that IP Virtual Server is built in the kernel or as module?\n", 2), 'lb', 'missing_dependency', /kernel has no IPVS in network namespace lb \(load the ip_vs module/],
    ['no such netns', NFT, fail('Cannot open network namespace "lb": No such file or directory\n', 255), 'lb', 'bad_usage', /network namespace lb does not exist/],
    ['binary missing inside netns', IPVS, fail('exec of "ipvsadm" failed: No such file or directory\n', 1), 'lb', 'missing_dependency', /ipvsadm not found in network namespace lb: install ipvsadm/],
    ['other failure, escapes shown', NFT, fail('Error: \x1b[31mweird\n', 1), undefined, 'bad_input', /failed \(exit 1\): Error: \\e\[31mweird/],
  ];
  it.each(t)('%s', (_n, [cmd, pkg], r, netns, code, re) => {
    const e = classifyFailure(cmd, pkg, netns, r);
    expect(e.code).toBe(code);
    expect(e.message).toMatch(re);
    expect(e.oneLine()).not.toMatch(/[\n\x1b]/);
  });

  it('a binary not on PATH', async () => {
    const e = await readLiveRules('nft', undefined, { env: { PATH: '/nonexistent' } }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(StalepinError);
    expect((e as StalepinError).code).toBe('missing_dependency');
    expect((e as StalepinError).message).toMatch(/nft not found: install nftables/);
  });

  it('a bad namespace name is refused before anything runs', async () => {
    await expect(readLiveRules('nft', 'x; rm -rf /')).rejects.toThrow(/network namespace name .* is not valid/);
  });
});

// Real kernel: rules loaded into a private namespace, read back through `ip netns exec`.
const canNetns = isRoot && has('ip') && has('nft');
if (!canNetns) console.log(`skipped live netns tests: need root, ip and nft (root=${isRoot}, ip=${has('ip')}, nft=${has('nft')})`);

describe.skipIf(!canNetns)('live rules in a network namespace', () => {
  const ns = `spinv-test-${process.pid}`;
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'spinv-'));
    execFileSync('ip', ['netns', 'add', ns]);
    const rules = path.join(dir, 'rules.nft');
    writeFileSync(
      rules,
      `table ip lb {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    ip daddr 203.0.113.10 udp dport 5060 dnat to numgen inc mod 2 map { 0 : 198.51.100.11, 1 : 198.51.100.12 }
  }
}
table ip6 lb6 {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    ip6 daddr 2001:db8::10 udp dport 5060 dnat to [2001:db8:1::11]:5060
  }
}
`,
    );
    execFileSync('ip', ['netns', 'exec', ns, 'nft', '-f', rules]);
  });
  afterAll(() => {
    spawnSync('ip', ['netns', 'del', ns]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('nft -j list ruleset', async () => {
    const inv = await readLiveRules('nft', ns);
    expect(inv.source.file).toBe(`nft -j list ruleset (netns ${ns})`);
    expect(inv.nodes.map((n) => `${nodeEndpoint(n)} ${n.state} ${n.service}`).sort()).toEqual([
      '198.51.100.11:5060 active 203.0.113.10:5060',
      '198.51.100.12:5060 active 203.0.113.10:5060',
      '[2001:db8:1::11]:5060 active [2001:db8::10]:5060',
    ]);
    expect(isService(inv, '203.0.113.10', 5060, 'udp')).toBe(true);
    expect(stateOf(inv, '198.51.100.13', 5060)).toBeUndefined();
  });

  it.skipIf(!has('iptables'))('iptables-save and ip6tables-save', async () => {
    const x = (...a: string[]): void => void execFileSync('ip', ['netns', 'exec', ns, ...a]);
    x('iptables', '-t', 'nat', '-A', 'PREROUTING', '-d', '203.0.113.20/32', '-p', 'udp', '--dport', '5060', '-j', 'DNAT', '--to-destination', '198.51.100.21:5060');
    x('ip6tables', '-t', 'nat', '-A', 'PREROUTING', '-d', '2001:db8::20/128', '-p', 'udp', '--dport', '5060', '-j', 'DNAT', '--to-destination', '[2001:db8:1::21]:5060');
    const inv = await readLiveRules('iptables', ns);
    expect(inv.nodes.map((n) => `${nodeEndpoint(n)} ${n.service}`).sort()).toEqual(['198.51.100.21:5060 203.0.113.20:5060', '[2001:db8:1::21]:5060 [2001:db8::20]:5060']);
    expect(inv.incomplete).toBeUndefined();
    // The same rules seen by nft are opaque xt targets: the inventory says it is incomplete.
    const viaNft = await readLiveRules('nft', ns);
    expect(viaNft.incomplete).toMatch(/iptables-nft DNAT target/);
  });

  it.skipIf(!has('ipvsadm'))('ipvsadm -Ln: real servers, or a clear error when the kernel has no IPVS', async () => {
    const probe = spawnSync('ip', ['netns', 'exec', ns, 'ipvsadm', '-Ln'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      console.log(`ipvsadm in netns: ${probe.stderr.trim().split('\n')[0]}`);
      const e = await readLiveRules('ipvs', ns).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(StalepinError);
      expect((e as StalepinError).code).toBe('missing_dependency');
      return;
    }
    execFileSync('ip', ['netns', 'exec', ns, 'ipvsadm', '-A', '-u', '203.0.113.30:5060', '-s', 'rr']);
    execFileSync('ip', ['netns', 'exec', ns, 'ipvsadm', '-a', '-u', '203.0.113.30:5060', '-r', '198.51.100.31:5060', '-m', '-w', '0']);
    const inv = await readLiveRules('ipvs', ns);
    expect(stateOf(inv, '198.51.100.31', 5060)).toBe('draining');
  });

  it('a namespace that does not exist', async () => {
    const e = await readLiveRules('nft', `${ns}-missing`).catch((x: unknown) => x);
    expect((e as StalepinError).code).toBe('bad_usage');
  });

  it.skipIf(!has('setpriv'))('without privilege: names CAP_NET_ADMIN', async () => {
    // A PATH whose nft drops root first, so the real tool prints its real complaint.
    const shimDir = path.join(dir, 'shim');
    execFileSync('mkdir', ['-p', shimDir]);
    const nftPath = execFileSync('sh', ['-c', 'command -v nft'], { encoding: 'utf8' }).trim();
    writeFileSync(path.join(shimDir, 'nft'), `#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups ${nftPath} "$@"\n`);
    chmodSync(path.join(shimDir, 'nft'), 0o755);
    const e = await readLiveRules('nft', undefined, { env: { PATH: `${shimDir}:/usr/bin:/bin` } }).catch((x: unknown) => x);
    expect((e as StalepinError).code).toBe('permission');
    expect((e as StalepinError).message).toMatch(/needs CAP_NET_ADMIN/);
  });
});
