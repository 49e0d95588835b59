/**
 * The live capture path on the loopback interface: cap -> Frame -> the file pipeline's decode
 * stage -> SIP, then the whole `stalepin watch` command against a balancer acted out on
 * 127.0.0.0/8 (an INVITE to a "service address" and its forwarded copy to a terminated
 * "backend" that nobody listens on). Skips, saying why, when not root or cap is not built.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Anomalies } from '../../src/core/anomalies.js';
import { classifyOpenError, defaultFilter, linkTypeOf, linkTypeOfDlt, loadCap, openLiveCapture } from '../../src/capture/live.js';
import { loadNativePcap } from '../../src/capture/live-native.js';
import { DecodeStatus } from '../../src/decode/types.js';
import { FrameStage } from '../../src/pipeline/packets.js';
import { SipDissector } from '../../src/sip/dissector.js';
import { parseSize } from '../../src/cli/commands/watch.js';

const ROOT = path.resolve(__dirname, '..', '..');

function unprivileged(): string | undefined {
  if (process.platform !== 'linux') return 'live capture is tested on Linux';
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'live capture needs root (CAP_NET_RAW)';
  return undefined;
}
async function unavailable(backend: 'stalepin-pcap' | 'cap'): Promise<string | undefined> {
  const u = unprivileged();
  if (u) return u;
  if (backend === 'stalepin-pcap') return loadNativePcap() ? undefined : "stalepin's libpcap binding is not built (apt-get install libpcap-dev g++ make; npm rebuild)";
  try {
    await loadCap();
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}
const whyNative = await unavailable('stalepin-pcap');
const whyCap = await unavailable('cap');
if (whyNative) console.log(`live tests of stalepin's binding skipped: ${whyNative}`);
if (whyCap) console.log(`live tests of the cap fallback skipped: ${whyCap}`);
// watch itself takes whichever is built.
const why = whyNative && whyCap;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('live capture helpers', () => {
  it.each([
    ['ETHERNET', 1],
    ['LINKTYPE_LINUX_SLL', 113],
    ['RAW', 101],
    ['NULL', 0],
    ['Unknown linktype 276', 276],
    ['Unknown linktype 12', 101],
    ['something else', undefined],
  ])('link type %s -> %s', (name, lt) => expect(linkTypeOf(name)).toBe(lt));
  it.each([
    [1, 1],
    [12, 101],
    [14, 101],
    [113, 113],
    [276, 276],
  ])('DLT %s -> link type %s', (dlt, lt) => expect(linkTypeOfDlt(dlt)).toBe(lt));

  it.each([
    ['eth9', "eth9: SIOCGIFHWADDR: No such device", 'bad_usage', /no such interface/],
    ['eth0', "eth0: You don't have permission to capture on that device (socket: Operation not permitted)", 'permission', /CAP_NET_RAW/],
    ['lo', 'syntax error in filter expression', 'bad_usage', /--filter/],
    ['lo', 'something odd', 'bad_input', /cannot capture on lo/],
  ])('open error on %s: %s', (iface, msg, code, re) => {
    const e = classifyOpenError(iface, msg);
    expect(e.code).toBe(code);
    expect(e.message).toMatch(re);
  });

  it.each([
    ['100M', 1e6, 100e6],
    ['64MiB', 1 << 20, 64 << 20],
    ['500k', 1e6, 500e3],
    ['2', 1e6, 2e6],
    ['32', 1 << 20, 32 << 20],
  ])('size %s', (v, unit, want) => expect(parseSize('--x', v, unit)).toBe(want));
  it.each(['', '-1', '1T', 'x', '0'])('bad size %j', (v) => expect(() => parseSize('--x', v)).toThrow(/--x/));

  it('the default filter names every port and the ICMP and fragment clauses', () => {
    const f = defaultFilter([5060, 5080, 5060]);
    expect(f).toContain('(port 5060 or port 5080)');
    expect(f.match(/port 5060/g)!.length).toBe(1);
    expect(f).toContain('icmp6');
    expect(f).toContain('ip[6:2] & 0x1fff');
  });
});

describe.each([
  ['stalepin-pcap', whyNative],
  ['cap', whyCap],
] as const)('live capture on loopback through %s', (backend, skip) => {
  const prev = process.env['STALEPIN_CAPTURE'];
  beforeAll(() => {
    if (backend === 'cap') process.env['STALEPIN_CAPTURE'] = 'cap';
    else delete process.env['STALEPIN_CAPTURE'];
  });
  afterAll(() => {
    if (prev === undefined) delete process.env['STALEPIN_CAPTURE'];
    else process.env['STALEPIN_CAPTURE'] = prev;
  });

  it.skipIf(skip !== undefined)('SIP datagrams to 127.0.0.1 arrive as frames, decode and parse as SIP; other ports are filtered out', async () => {
    const anomalies = new Anomalies();
    const methods: string[] = [];
    const sip = new SipDissector({ anomalies, ports: [5060], onMessage: (m) => methods.push(m.isRequest ? m.method : String(m.statusCode)) });
    const ports: number[] = [];
    const stage = new FrameStage(anomalies, () => 'lo', (p) => {
      if (p.status === DecodeStatus.Ok && p.proto === 17) {
        ports.push(p.dstPort);
        sip.udp(p);
      }
    });
    const times: number[] = [];
    const live = await openLiveCapture({
      interfaces: ['lo'],
      filter: defaultFilter([5060]),
      onFrame: (f) => {
        times.push(f.sec + f.nsec * 1e-9);
        expect(f.linkType).toBe(1);
        stage.push(f);
      },
    });
    const sock = dgram.createSocket('udp4');
    const before = Date.now() / 1000;
    try {
      for (let i = 0; i < 3; i++) sock.send(`OPTIONS sip:probe@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-${i}\r\nFrom: <sip:a@x>;tag=${i}\r\nTo: <sip:b@x>\r\nCall-ID: smoke-${i}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`, 5060, '127.0.0.1');
      sock.send('not for us', 5999, '127.0.0.1');
      for (let i = 0; i < 40 && methods.length < 3; i++) await sleep(25);
    } finally {
      live.close();
      sock.close();
    }
    expect(methods).toEqual(['OPTIONS', 'OPTIONS', 'OPTIONS']);
    expect(ports.filter((p) => p === 5999)).toEqual([]);
    expect(live.interfaces[0]!.name).toBe('lo');
    for (const t of times) expect(Math.abs(t - before)).toBeLessThan(5);
    if (backend === 'stalepin-pcap') {
      expect(live.backend).toMatch(/^stalepin-pcap \(libpcap version /);
      // libpcap's own stamps, in nanoseconds, in the order the kernel took them.
      expect(live.interfaces[0]!.precision).toBe(9);
      for (let i = 1; i < times.length; i++) expect(times[i]!).toBeGreaterThanOrEqual(times[i - 1]!);
      // Three datagrams passed the filter (loopback counts each in both directions); none dropped.
      const st = live.stats()!;
      expect(st.received).toBeGreaterThanOrEqual(3);
      expect(st.dropped).toBe(0);
    } else {
      expect(live.backend).toBe('cap');
      expect(live.stats()).toBeUndefined();
    }
  });

  it.skipIf(skip !== undefined)('a snap length cuts long packets and counts them', async () => {
    let caps: number[] = [];
    const live = await openLiveCapture({ interfaces: ['lo'], filter: 'udp port 5061', snapLen: 100, onFrame: (f) => void (caps = [...caps, f.capLen, f.origLen]) });
    const sock = dgram.createSocket('udp4');
    try {
      sock.send(Buffer.alloc(600, 0x41), 5061, '127.0.0.1');
      for (let i = 0; i < 40 && caps.length < 2; i++) await sleep(25);
    } finally {
      live.close();
      sock.close();
    }
    // Ethernet 14 + IPv4 20 + UDP 8 + 600 bytes on loopback.
    expect(caps[0]).toBe(100);
    expect(live.truncated).toBe(1);
    // cap does not pass on the length on the wire; libpcap's header has it.
    if (backend === 'stalepin-pcap') expect(caps[1]).toBe(642);
  });

  // cap has no drop counters to test.
  if (backend === 'stalepin-pcap') {
    it.skipIf(skip !== undefined)('a ring that overflows is counted in the kernel drops', async () => {
      let frames = 0;
      const live = await openLiveCapture({ interfaces: ['lo'], filter: 'udp port 5062', bufferBytes: 1 << 20, onFrame: () => void frames++ });
      const sock = dgram.createSocket('udp4');
      const payload = Buffer.alloc(1000, 0x42);
      try {
        // Sent in one go while nothing is read: 20 MB through a 1 MiB ring.
        for (let i = 0; i < 20000; i++) sock.send(payload, 5062, '127.0.0.1');
        await sleep(1000);
      } finally {
        live.close();
        sock.close();
      }
      const st = live.stats()!;
      expect(st.dropped).toBeGreaterThan(0);
      expect(frames).toBeGreaterThan(0);
      // On loopback the kernel offers every datagram twice (out and in) and counts both.
      expect(frames + st.dropped).toBeLessThanOrEqual(2 * 20000);
      expect(st.received + st.dropped).toBeGreaterThanOrEqual(20000);
    });

    it.skipIf(skip !== undefined || spawnSync('sh', ['-c', 'command -v ip'], { stdio: 'ignore' }).status !== 0)(
      'an interface that goes away stops its capture with one message, not a busy loop',
      () => {
        // A veth interface in a namespace of our own, deleted under a running capture.
        const ns = `spcap-test-${process.pid}`;
        execFileSync('ip', ['netns', 'add', ns]);
        try {
          execFileSync('ip', ['-n', ns, 'link', 'add', 'sp-cap0', 'type', 'veth', 'peer', 'name', 'sp-cap1']);
          execFileSync('ip', ['-n', ns, 'link', 'set', 'sp-cap0', 'up']);
          const script = `
            import { execFileSync } from 'node:child_process';
            import { openLiveCapture } from ${JSON.stringify(path.join(ROOT, 'src', 'capture', 'live.ts'))};
            const live = await openLiveCapture({ interfaces: ['sp-cap0'], filter: '', onFrame: () => undefined });
            execFileSync('ip', ['link', 'del', 'sp-cap0']);
            await new Promise((r) => setTimeout(r, 300));
            const c0 = process.cpuUsage();
            await new Promise((r) => setTimeout(r, 1500));
            const c = process.cpuUsage(c0);
            live.close();
            console.log(JSON.stringify({ backend: live.backend, errors: live.errors, cpuMs: (c.user + c.system) / 1000 }));
          `;
          const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
          expect(r.status, r.stderr).toBe(0);
          const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { backend: string; errors: string[]; cpuMs: number };
          expect(out.backend).toMatch(/^stalepin-pcap/);
          expect(out.errors).toHaveLength(1);
          expect(out.errors[0]).toMatch(/^capture on sp-cap0 stopped: /);
          // Polling a dead descriptor would spin a core: 1.5 s of it would be ~1500 ms.
          expect(out.cpuMs).toBeLessThan(300);
        } finally {
          execFileSync('ip', ['netns', 'del', ns]);
        }
      },
      40_000,
    );
  }

  it.skipIf(skip !== undefined)('an unknown interface is one clear error', async () => {
    await expect(openLiveCapture({ interfaces: ['sp-no-such-if0'], filter: '', onFrame: () => undefined })).rejects.toThrow(/no such interface/);
  });
});

describe.skipIf(why !== undefined)('stalepin watch on loopback', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'stalepin-watch-'));
  beforeAll(() => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'ignore' });
  }, 180_000);
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it(
    'flags the INVITE forwarded to a terminated backend within two retransmissions, then the final report, exit 1',
    async () => {
      // A balancer acted out on loopback: service 127.0.0.1:5060, terminated backend 127.0.0.3:5060.
      const inv = path.join(tmp, 'nodes.txt');
      writeFileSync(inv, '127.0.0.3:5060 terminated\n127.0.0.4:5060 active\n');
      const ring = path.join(tmp, 'ring.pcap');
      const prom = path.join(tmp, 'watch.prom');
      const child = spawn(
        process.execPath,
        ['bin/stalepin', 'watch', '-i', 'lo', '--format', 'ndjson', '--nodes', inv, '--vip', '127.0.0.1:5060', '--sip-port', '5060', '--duration', '4s', '--write', ring, '--rotate-size', '2k', '--rotate-count', '3', '--prom-textfile', prom, '--stats-interval', '1s'],
        { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const lines: { at: number; obj: Record<string, unknown> }[] = [];
      let buf = '';
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          lines.push({ at: Date.now() / 1000, obj: JSON.parse(buf.slice(0, i)) as Record<string, unknown> });
          buf = buf.slice(i + 1);
        }
      });
      const exit = new Promise<number | null>((r) => child.on('close', r));
      for (let i = 0; i < 100 && !stderr.includes('watching'); i++) await sleep(50);
      expect(stderr).toContain('watching lo');
      const sock = dgram.createSocket('udp4');
      await new Promise<void>((r) => sock.bind(5080, '127.0.0.1', r));
      const invite = `INVITE sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-live1\r\nFrom: <sip:alice@127.0.0.1>;tag=a1\r\nTo: <sip:bob@127.0.0.1>\r\nCall-ID: live-1@127.0.0.1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`;
      const sent = Date.now() / 1000;
      for (const d of [0, 500, 1500]) {
        setTimeout(() => {
          sock.send(invite, 5060, '127.0.0.1');
          sock.send(invite, 5060, '127.0.0.3'); // the balancer's forwarded copy
        }, d);
      }
      const code = await exit;
      sock.close();
      const hit = lines.find((l) => l.obj['event'] === 'new' && (l.obj['finding'] as { kind: string }).kind === 'pinned-flow');
      expect(hit, stderr).toBeDefined();
      const f = hit!.obj['finding'] as { client: string; target: string; callIds: string[] };
      expect(f.client).toBe('127.0.0.1:5080');
      expect(f.target).toBe('127.0.0.3:5060');
      expect(f.callIds).toEqual(['live-1@127.0.0.1']);
      expect(hit!.at - sent).toBeLessThan(1.6);
      const report = lines[lines.length - 1]!.obj as { event: string; report: { schema: string; findings: { kind: string }[]; summary: { sipMessages: number } } };
      expect(report.event).toBe('report');
      expect(report.report.schema).toBe('stalepin/report@1');
      expect(report.report.findings.map((x) => x.kind)).toContain('pinned-flow');
      expect(code).toBe(1);
      expect(stderr).toMatch(/kernel drops 0/);
      // The ring: numbered files, each a readable pcap.
      const files = readdirSync(tmp).filter((n) => n.startsWith('ring.pcap')).sort();
      expect(files.length).toBeGreaterThan(1);
      expect(files.length).toBeLessThanOrEqual(3);
      for (const n of files) expect(readFileSync(path.join(tmp, n)).readUInt32LE(0)).toBe(0xa1b2c3d4);
      const text = readFileSync(prom, 'utf8');
      expect(text).toMatch(/stalepin_watch_pinned_flows 1/);
      if (spawnSync('sh', ['-c', 'command -v promtool'], { stdio: 'ignore' }).status === 0) {
        const r = spawnSync('promtool', ['check', 'metrics'], { input: text });
        expect(r.status, String(r.stdout) + String(r.stderr)).toBe(0);
      }
    },
    60_000,
  );

  it.each([
    [['watch'], /needs an interface/],
    [['watch', '-i', 'sp-no-such-if0', '--duration', '1s'], /no such interface/],
    [['watch', '-i', 'lo', '--filter', 'port nonsense(', '--duration', '1s'], /--filter/],
    [['watch', '-i', 'lo', '--rotate-size', '1M'], /needs --write/],
  ])('%j: one line, exit 2', (args, re) => {
    const r = spawnSync(process.execPath, ['bin/stalepin', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(re);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('without CAP_NET_RAW: says which capability is missing, exit 2', () => {
    if (spawnSync('sh', ['-c', 'command -v capsh'], { stdio: 'ignore' }).status !== 0) return void console.log('capsh missing: capability test skipped');
    const r = spawnSync('capsh', ['--drop=cap_net_raw,cap_net_admin', '--', '-c', `"${process.execPath}" bin/stalepin watch -i lo --duration 1s`], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
    expect(r.stderr).toMatch(/CAP_NET_RAW/);
    expect(r.status).toBe(2);
  });

  it('without any libpcap binding: one line saying what to install, exit 2', () => {
    // The built CLI in a folder of its own: its dependencies, but neither cap nor native/build.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'stalepin-nopcap-'));
    try {
      cpSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
      cpSync(path.join(ROOT, 'bin'), path.join(dir, 'bin'), { recursive: true });
      cpSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
      mkdirSync(path.join(dir, 'node_modules'));
      for (const n of readdirSync(path.join(ROOT, 'node_modules'))) if (n !== 'cap' && !n.startsWith('.')) symlinkSync(path.join(ROOT, 'node_modules', n), path.join(dir, 'node_modules', n));
      const r = spawnSync(process.execPath, [path.join(dir, 'bin', 'stalepin'), 'watch', '-i', 'lo', '--duration', '1s'], { cwd: dir, encoding: 'utf8', timeout: 20_000 });
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/live capture needs libpcap: apt-get install libpcap-dev g\+\+ make, then npm rebuild/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the capture path exists once built', () => {
    expect(existsSync(path.join(ROOT, 'dist', 'watch', 'session.js'))).toBe(true);
  });
});
