/**
 * The real-kernel incident lab: network namespaces, nftables DNAT with conntrack, sipp user
 * agents, a failover, and the evidence an SRE would collect on the load balancer.
 *
 * Everything it creates lives in namespaces named `<prefix>-client|lb|a|b`; the host's own
 * interfaces, routes and rules are never touched. Namespaces and processes are removed on
 * success, on failure and on SIGINT/SIGTERM.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { formatEndpoint } from '../../src/core/address.js';
import { StalepinError } from '../../src/core/errors.js';
import { optionsScenario, uacScenario } from './scenarios.js';
import {
  type AddressPlan,
  type CaptureMode,
  clientPrefix,
  DEFAULT_FIXED_PORT,
  LB_IF,
  NFT_TABLE,
  NODE_IF,
  nftInitial,
  nftSwap,
  PLAN4,
  PLAN6,
  SIP_PORT,
  type Termination,
  type Variant,
  VARIANT_SPECS,
  VARIANTS,
} from './topology.js';
import { deriveTruth, isoNs, type Truth } from './truth.js';

export type LabEnv = Record<string, string>;
export type LabHook = string | ((env: LabEnv) => void | Promise<void>);

export interface LabOptions {
  variant: Variant;
  /** Case folder to write (created; existing files with the same names are replaced). */
  out: string;
  termination?: Termination;
  capture?: CaptureMode;
  fixedPort?: number;
  /** Calls of each kind (fixed port, fresh ports, TCP) before the failover. Default 2. */
  callsBefore?: number;
  /** Calls of each kind after the failover; the fixed-port ones are the lost calls. Default 2. */
  callsAfter?: number;
  /** Run before the failover and after it, while the namespaces exist. */
  before?: LabHook;
  after?: LabHook;
  /** Namespace name prefix; default `sp-<pid>`. */
  prefix?: string;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** Keep the scratch folder (sipp screens, scenario files) for debugging. */
  keepWork?: boolean;
}

export interface LabResult {
  out: string;
  truth: Truth;
  /** Case files, relative to `out`, with sizes in bytes. */
  files: { name: string; bytes: number }[];
  hookFailures: string[];
  seconds: number;
}

const REQUIRED = ['ip', 'nft', 'conntrack', 'sipp'];

/** Why the lab cannot run here, or undefined when it can (root and every tool present). */
export function labUnavailable(capture: CaptureMode[] = ['any', 'interfaces']): string | undefined {
  if (process.platform !== 'linux') return 'the lab needs Linux network namespaces';
  if (typeof process.getuid !== 'function' || process.getuid() !== 0)
    return 'the lab must run as root (network namespaces, nftables, conntrack)';
  const tools = [...REQUIRED];
  if (capture.includes('any')) tools.push('tcpdump');
  if (capture.includes('interfaces')) tools.push('dumpcap');
  const missing = tools.filter((t) => !which(t));
  if (missing.length) return `missing tools: ${missing.join(', ')} (Debian: iproute2 nftables conntrack sip-tester tcpdump tshark)`;
  return undefined;
}

function which(tool: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(path.join(dir, tool))) return true;
  }
  return false;
}

/** Run one lab variant and write its case folder. Throws StalepinError on bad options or a missing prerequisite. */
export async function runLab(opts: LabOptions): Promise<LabResult> {
  if (!VARIANTS.includes(opts.variant))
    throw new StalepinError('bad_usage', `unknown lab variant "${opts.variant}" (one of: ${VARIANTS.join(', ')})`);
  const spec = VARIANT_SPECS[opts.variant];
  const capture = opts.capture ?? spec.capture;
  const why = labUnavailable([capture]);
  if (why) throw new StalepinError(why.includes('root') ? 'permission' : 'missing_dependency', why);
  const lab = new Lab(opts, capture);
  const onSignal = (sig: NodeJS.Signals): void => {
    lab.cleanupSync();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.kill(process.pid, sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await lab.run();
  } finally {
    await lab.cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

interface Proc {
  name: string;
  ns: string;
  child: ChildProcess;
  exit: Promise<number | null>;
  done: boolean;
  stderrFile: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function nowNs(): bigint {
  // Node has no nanosecond wall clock; date(1) reads CLOCK_REALTIME, the clock conntrack's
  // timestamps and the captures use.
  return BigInt(execFileSync('date', ['+%s%N'], { encoding: 'utf8' }).trim());
}

class Lab {
  private readonly spec;
  private readonly plan: AddressPlan;
  private readonly termination: Termination;
  private readonly prefix: string;
  private readonly ns: { client: string; lb: string; a: string; b: string };
  private readonly created: string[] = [];
  private readonly procs: Proc[] = [];
  private readonly out: string;
  private readonly work: string;
  private readonly fixedPort: number;
  private readonly callsBefore: number;
  private readonly callsAfter: number;
  private readonly hookFailures: string[] = [];
  private readonly log: (line: string) => void;
  private cleaned = false;
  private failoverAtNs = 0n;
  private terminatedAtNs = 0n;
  private aGone = false;

  constructor(
    private readonly opts: LabOptions,
    private readonly capture: CaptureMode,
  ) {
    this.spec = VARIANT_SPECS[opts.variant];
    this.plan = this.spec.family === 4 ? PLAN4 : PLAN6;
    this.termination = opts.termination ?? this.spec.termination;
    this.prefix = opts.prefix ?? `sp-${process.pid}`;
    this.ns = { client: `${this.prefix}-client`, lb: `${this.prefix}-lb`, a: `${this.prefix}-a`, b: `${this.prefix}-b` };
    this.out = path.resolve(opts.out);
    this.work = path.join(this.out, '.work');
    this.fixedPort = opts.fixedPort ?? DEFAULT_FIXED_PORT;
    this.callsBefore = opts.callsBefore ?? 2;
    this.callsAfter = opts.callsAfter ?? 2;
    this.log = opts.log ?? (() => {});
  }

  async run(): Promise<LabResult> {
    const t0 = Date.now();
    mkdirSync(path.join(this.out, 'sipp'), { recursive: true });
    mkdirSync(this.work, { recursive: true });
    writeFileSync(path.join(this.work, 'uac.xml'), uacScenario(this.spec.bigSdp));
    writeFileSync(path.join(this.work, 'options.xml'), optionsScenario());

    this.log(`creating namespaces ${this.prefix}-{client,lb,a,b} (IPv${this.plan.family})`);
    this.topology();
    this.startBackends();
    await this.waitListening(this.ns.a, this.plan.backendA);
    await this.waitListening(this.ns.b, this.plan.backendB);
    await this.startEvidence();

    this.log('before the failover: fixed-port, fresh-port, TCP calls and a health check, all to A');
    await this.phase('before');
    await sleep(300);
    this.snapshot('before');
    writeFileSync(this.file('inventory-before.json'), JSON.stringify(this.inventory(false), null, 2) + '\n');
    await this.hook('before');

    this.log(`failover: DNAT target ${this.plan.backendA} -> ${this.plan.backendB}, A ${this.termination}`);
    await this.failover();
    await sleep(300);

    this.log(`after the failover: ${this.callsAfter} fixed-port calls (pinned to A), fresh-port and TCP calls (to B)`);
    await this.phase('after');
    await sleep(300);
    this.snapshot('after');
    writeFileSync(this.file('inventory.json'), JSON.stringify(this.inventory(true), null, 2) + '\n');
    await this.hook('after');

    await sleep(300);
    await this.stopEvidence();
    rmSync(this.file('inventory-before.json'), { force: true });

    const logs = readdirSync(path.join(this.out, 'sipp'))
      .filter((f) => f.endsWith('.log'))
      .sort()
      .map((f) => ({ name: `sipp/${f}`, text: readFileSync(path.join(this.out, 'sipp', f), 'utf8') }));
    const truth = deriveTruth({
      variant: this.opts.variant,
      termination: this.termination,
      family: this.plan.family,
      vip: this.plan.vip,
      sipPort: SIP_PORT,
      clientAddress: this.plan.client,
      fixedPort: this.fixedPort,
      deadBackend: this.plan.backendA,
      liveBackend: this.plan.backendB,
      failoverAtNs: this.failoverAtNs,
      terminatedAtNs: this.terminatedAtNs,
      sippLogs: logs,
      conntrackAfter: { name: 'conntrack-after.extended.txt', text: readFileSync(this.file('conntrack-after.extended.txt'), 'utf8') },
      conntrackBefore: { name: 'conntrack-before.extended.txt', text: readFileSync(this.file('conntrack-before.extended.txt'), 'utf8') },
    });
    truth.recordedWith = this.recordedWith();
    writeFileSync(this.file('truth.json'), JSON.stringify(truth, null, 2) + '\n');
    if (!this.opts.keepWork) rmSync(this.work, { recursive: true, force: true });
    // tcpdump writes as its own user, the rest as root: hand the case to whoever owns the folder
    // it was written into (the invoking user under sudo).
    const owner = statSync(path.dirname(this.out));
    chownTree(this.out, owner.uid, owner.gid);
    return { out: this.out, truth, files: listFiles(this.out), hookFailures: this.hookFailures, seconds: (Date.now() - t0) / 1000 };
  }

  private recordedWith(): Record<string, string> {
    const first = (cmd: string, args: string[], re: RegExp): string => {
      try {
        const r = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
        return re.exec(r)?.[0]?.trim() ?? '';
      } catch (e) {
        const out = String((e as { stdout?: string }).stdout ?? '');
        return re.exec(out)?.[0]?.trim() ?? '';
      }
    };
    const capture =
      this.capture === 'any'
        ? `tcpdump -i any -y LINUX_SLL2${this.opts.variant === 'netns-deleted' ? ' --time-stamp-precision nano' : ''} (${first('tcpdump', ['--version'], /tcpdump version \S+/)})`
        : `dumpcap ${Object.values(LB_IF).map((i) => '-i ' + i).join(' ')} (${first('dumpcap', ['--version'], /Dumpcap \(Wireshark\) \S+/)})`;
    return {
      kernel: first('uname', ['-sr'], /.+/),
      sipp: first('sipp', ['-v'], /SIPp v\S+/),
      nft: first('nft', ['--version'], /nftables v\S+/),
      conntrack: first('conntrack', ['--version'], /conntrack v\S+/),
      capture,
      conntrackAcct: this.spec.acct ? 'on' : 'off',
      namespaces: `${this.prefix}-{client,lb,a,b}`,
      lbInterfaces: `${LB_IF.client} (client side, VIP), ${LB_IF.a} (to A), ${LB_IF.b} (to B)`,
    };
  }

  private file(name: string): string {
    return path.join(this.out, name);
  }

  // ---- namespaces and links -------------------------------------------------------------

  private ip(args: string[]): string {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  private inNs(ns: string, argv: string[], input?: string): string {
    return execFileSync('ip', ['netns', 'exec', ns, ...argv], {
      encoding: 'utf8',
      input,
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
  }

  private topology(): void {
    const { ns, plan } = this;
    const v6 = plan.family === 6;
    for (const n of [ns.client, ns.lb, ns.a, ns.b]) {
      this.ip(['netns', 'add', n]);
      this.created.push(n);
      this.ip(['-n', n, 'link', 'set', 'lo', 'up']);
      // IPv4 variants carry no IPv6 at all (no router solicitations or MLD in the captures);
      // IPv6 variants skip duplicate address detection so addresses are usable at once.
      const sys = v6
        ? ['net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']
        : ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'];
      this.inNs(n, ['sysctl', '-qw', ...sys]);
    }
    const pair = (lbIf: string, other: string): void => {
      this.ip(['-n', ns.lb, 'link', 'add', lbIf, 'type', 'veth', 'peer', 'name', NODE_IF, 'netns', other]);
    };
    pair(LB_IF.client, ns.client);
    pair(LB_IF.a, ns.a);
    pair(LB_IF.b, ns.b);
    const addr = (n: string, dev: string, a: string, prefix: number): void => {
      this.ip(['-n', n, 'addr', 'add', `${a}/${prefix}`, 'dev', dev, ...(v6 ? ['nodad'] : [])]);
    };
    const cp = clientPrefix(plan);
    addr(ns.lb, LB_IF.client, plan.lbClientSide, cp);
    addr(ns.lb, LB_IF.client, plan.vip, cp);
    addr(ns.lb, LB_IF.a, plan.lbToA, plan.prefix);
    addr(ns.lb, LB_IF.b, plan.lbToB, plan.prefix);
    addr(ns.client, NODE_IF, plan.client, cp);
    addr(ns.a, NODE_IF, plan.backendA, plan.prefix);
    addr(ns.b, NODE_IF, plan.backendB, plan.prefix);
    for (const dev of Object.values(LB_IF)) this.ip(['-n', ns.lb, 'link', 'set', dev, 'up']);
    for (const n of [ns.client, ns.a, ns.b]) this.ip(['-n', n, 'link', 'set', NODE_IF, 'up']);
    const route = (n: string, via: string): void => void this.ip(['-n', n, ...(v6 ? ['-6'] : []), 'route', 'add', 'default', 'via', via]);
    route(ns.client, plan.lbClientSide);
    route(ns.a, plan.lbToA);
    route(ns.b, plan.lbToB);

    const lbSys = [
      v6 ? 'net.ipv6.conf.all.forwarding=1' : 'net.ipv4.ip_forward=1',
      // Per network namespace since Linux 4.x: only the LB's table gets timestamps.
      'net.netfilter.nf_conntrack_timestamp=1',
      `net.netfilter.nf_conntrack_acct=${this.spec.acct ? 1 : 0}`,
    ];
    this.inNs(ns.lb, ['sysctl', '-qw', ...lbSys]);
    const ts = this.inNs(ns.lb, ['sysctl', '-n', 'net.netfilter.nf_conntrack_timestamp']).trim();
    if (ts !== '1') throw new StalepinError('missing_dependency', 'could not enable nf_conntrack_timestamp in the LB namespace');
    this.inNs(ns.lb, ['nft', '-f', '-'], nftInitial(plan, plan.backendA));
  }

  // ---- processes ------------------------------------------------------------------------

  private spawnIn(name: string, ns: string, argv: string[], stdoutFile?: string): Proc {
    const outFd = openSync(stdoutFile ?? path.join(this.work, `${name}.out`), 'w');
    const stderrFile = path.join(this.work, `${name}.err`);
    const errFd = openSync(stderrFile, 'w');
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], {
      stdio: ['ignore', outFd, errFd],
      env: { ...process.env, TZ: 'UTC' },
      cwd: this.work,
    });
    closeSync(outFd);
    closeSync(errFd);
    const p: Proc = {
      name,
      ns,
      child,
      done: false,
      stderrFile,
      exit: new Promise((resolve) => {
        child.on('exit', (code) => {
          p.done = true;
          resolve(code);
        });
        child.on('error', () => {
          p.done = true;
          resolve(null);
        });
      }),
    };
    this.procs.push(p);
    return p;
  }

  private async stop(p: Proc, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
    if (p.done) return;
    p.child.kill(signal);
    const t = setTimeout(() => {
      if (!p.done) p.child.kill('SIGKILL');
    }, graceMs);
    await p.exit;
    clearTimeout(t);
  }

  private startBackends(): void {
    for (const [node, ns, addr] of [
      ['a', this.ns.a, this.plan.backendA],
      ['b', this.ns.b, this.plan.backendB],
    ] as const) {
      for (const t of ['u1', 't1']) {
        this.spawnIn(`uas-${node}-${t === 'u1' ? 'udp' : 'tcp'}`, ns, [
          'sipp', '-sn', 'uas', '-i', addr, '-p', String(SIP_PORT), '-t', t, '-aa', '-nostdin', '-max_socket', '64',
          '-trace_err', '-error_file', path.join(this.work, `uas-${node}-${t}.errors.log`),
        ]);
      }
    }
  }

  private async waitListening(ns: string, addr: string): Promise<void> {
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const out = this.inNs(ns, ['ss', '-H', '-ln', '-t', '-u', `sport = :${SIP_PORT}`]);
      if (/udp/.test(out) && /tcp/.test(out)) return;
      await sleep(50);
    }
    throw new StalepinError('internal', `sipp UAS on ${addr} did not start listening on UDP and TCP ${SIP_PORT}`);
  }

  private captureProc?: Proc;
  private eventsProc?: Proc;

  private captureFile(): string {
    return this.capture === 'any' ? 'lb-any.pcap' : 'lb-interfaces.pcapng';
  }

  private async startEvidence(): Promise<void> {
    const fam = this.plan.family === 6 ? ['-f', 'ipv6'] : [];
    this.eventsProc = this.spawnIn(
      'conntrack-events',
      this.ns.lb,
      ['stdbuf', '-oL', 'conntrack', '-E', '-o', 'timestamp,id', ...fam],
      this.file('conntrack-events.txt'),
    );
    let ready: RegExp;
    if (this.capture === 'any') {
      // Cooked v2 names the interface of each packet; -U flushes per packet so nothing is
      // lost when we stop it.
      const nano = this.opts.variant === 'netns-deleted' ? ['--time-stamp-precision', 'nano'] : [];
      this.captureProc = this.spawnIn('tcpdump', this.ns.lb, [
        'tcpdump', '-i', 'any', '-y', 'LINUX_SLL2', '-nn', '-U', ...nano, '-w', this.file(this.captureFile()),
      ]);
      ready = /listening on/;
    } else {
      const ifs = Object.values(LB_IF).flatMap((i) => ['-i', i]);
      this.captureProc = this.spawnIn('dumpcap', this.ns.lb, ['dumpcap', '-q', ...ifs, '-w', this.file(this.captureFile())]);
      ready = /Capturing on/;
    }
    const deadline = Date.now() + 10_000;
    while (!ready.test(readFileSync(this.captureProc.stderrFile, 'utf8'))) {
      if (this.captureProc.done || Date.now() > deadline)
        throw new StalepinError('internal', `capture did not start: ${readFileSync(this.captureProc.stderrFile, 'utf8').trim()}`);
      await sleep(50);
    }
    await sleep(300);
  }

  private async stopEvidence(): Promise<void> {
    if (this.captureProc) await this.stop(this.captureProc, 'SIGINT');
    if (this.eventsProc) await this.stop(this.eventsProc, 'SIGINT');
  }

  // ---- calls ----------------------------------------------------------------------------

  private uac(name: string, scenario: string, transport: string, port: number, calls: number, rate: string[], extra: string[] = []): Proc {
    const remote = formatEndpoint(this.plan.vip, SIP_PORT);
    return this.spawnIn(name, this.ns.client, [
      'sipp', '-sf', path.join(this.work, scenario), '-i', this.plan.client, '-p', String(port), '-t', transport,
      '-m', String(calls), ...rate, '-nostdin', '-nd', '-max_socket', '64', '-max_invite_retrans', '4',
      '-cid_str', `${name}-%u-%p@%s`, '-trace_msg', '-message_file', this.file(`sipp/${name}.log`),
      ...extra, remote,
    ]);
  }

  private async phase(when: 'before' | 'after'): Promise<void> {
    const n = when === 'before' ? this.callsBefore : this.callsAfter;
    const procs = [
      // The carrier: every INVITE from one source port, one call a second after the failover
      // so the retransmissions of consecutive calls interleave as they would in production.
      this.uac(`fixed-${when}`, 'uac.xml', 'u1', this.fixedPort, n, when === 'before' ? ['-r', '5'] : ['-r', '1', '-rp', '1000']),
      this.uac(`fresh-${when}`, 'uac.xml', 'un', 5090, n, ['-r', '5']),
      this.uac(`tcp-${when}`, 'uac.xml', 't1', when === 'before' ? 5092 : 5093, n, ['-r', '5']),
      this.uac(`options-${when}`, 'options.xml', 'un', 5096, 1, ['-r', '1']),
    ];
    const timeout = setTimeout(() => {
      for (const p of procs) if (!p.done) p.child.kill('SIGKILL');
    }, 60_000);
    await Promise.all(procs.map((p) => p.exit));
    clearTimeout(timeout);
  }

  // ---- failover -------------------------------------------------------------------------

  private async failover(): Promise<void> {
    this.failoverAtNs = nowNs();
    this.inNs(this.ns.lb, ['nft', '-f', '-'], nftSwap(this.plan, this.plan.backendB));
    const aProcs = this.procs.filter((p) => p.ns === this.ns.a);
    switch (this.termination) {
      case 'killed':
        await Promise.all(aProcs.map((p) => this.stop(p, 'SIGKILL')));
        break;
      case 'link-down':
        this.ip(['-n', this.ns.a, 'link', 'set', NODE_IF, 'down']);
        break;
      case 'netns-deleted': {
        await Promise.all(aProcs.map((p) => this.stop(p, 'SIGKILL')));
        this.ip(['netns', 'del', this.ns.a]);
        this.aGone = true;
        // The namespace and its veth are torn down asynchronously once its last user is gone.
        const deadline = Date.now() + 10_000;
        while (this.ip(['-n', this.ns.lb, '-o', 'link', 'show']).includes(`${LB_IF.a}@`)) {
          if (Date.now() > deadline) throw new StalepinError('internal', `${LB_IF.a} still exists after deleting ${this.ns.a}`);
          await sleep(50);
        }
        break;
      }
    }
    this.terminatedAtNs = nowNs();
  }

  // ---- evidence -------------------------------------------------------------------------

  private snapshot(when: 'before' | 'after'): void {
    const fam = this.plan.family === 6 ? ['-f', 'ipv6'] : [];
    const ct = (args: string[]): string => this.inNs(this.ns.lb, ['conntrack', '-L', ...fam, ...args]);
    writeFileSync(this.file(`conntrack-${when}.txt`), ct([]));
    writeFileSync(this.file(`conntrack-${when}.extended.txt`), ct(['-o', 'extended,id']));
    writeFileSync(this.file(`conntrack-${when}.xml`), ct(['-o', 'xml']));
    writeFileSync(this.file(`conntrack-${when}.ktimestamp.txt`), ct(['-o', 'ktimestamp']));
    writeFileSync(this.file(`nf_conntrack-${when}.txt`), this.inNs(this.ns.lb, ['cat', '/proc/net/nf_conntrack']));
    writeFileSync(this.file(`nft-${when}.json`), this.inNs(this.ns.lb, ['nft', '-j', 'list', 'ruleset']));
  }

  private inventory(afterFailover: boolean): { nodes: object[] } {
    const since = isoNs(this.terminatedAtNs);
    return {
      nodes: [
        {
          address: this.plan.backendA,
          port: SIP_PORT,
          name: 'a',
          state: afterFailover ? 'terminated' : 'active',
          ...(afterFailover ? { since } : {}),
        },
        { address: this.plan.backendB, port: SIP_PORT, name: 'b', state: 'active' },
      ],
    };
  }

  env(phase: 'before' | 'after'): LabEnv {
    const { plan, ns } = this;
    const e: LabEnv = {
      STALEPIN_LAB_PHASE: phase,
      STALEPIN_LAB_VARIANT: this.opts.variant,
      STALEPIN_LAB_TERMINATION: this.termination,
      STALEPIN_LAB_FAMILY: String(plan.family),
      STALEPIN_LAB_OUT: this.out,
      STALEPIN_LAB_NS_CLIENT: ns.client,
      STALEPIN_LAB_NS_LB: ns.lb,
      STALEPIN_LAB_NS_A: ns.a,
      STALEPIN_LAB_NS_B: ns.b,
      STALEPIN_LAB_A_STATE: phase === 'after' ? 'terminated' : 'active',
      STALEPIN_LAB_CLIENT: plan.client,
      STALEPIN_LAB_VIP: plan.vip,
      STALEPIN_LAB_SIP_PORT: String(SIP_PORT),
      STALEPIN_LAB_SERVICE: formatEndpoint(plan.vip, SIP_PORT),
      STALEPIN_LAB_BACKEND_A: plan.backendA,
      STALEPIN_LAB_BACKEND_B: plan.backendB,
      STALEPIN_LAB_DEAD_BACKEND: phase === 'after' ? plan.backendA : '',
      STALEPIN_LAB_FIXED_PORT: String(this.fixedPort),
      STALEPIN_LAB_LB_IFACES: Object.values(LB_IF).join(','),
      STALEPIN_LAB_NFT_TABLE: `${plan.family === 4 ? 'ip' : 'ip6'} ${NFT_TABLE}`,
      STALEPIN_LAB_INVENTORY: this.file(phase === 'after' ? 'inventory.json' : 'inventory-before.json'),
      STALEPIN_LAB_CAPTURE: this.file(this.captureFile()),
    };
    if (phase === 'after') e.STALEPIN_LAB_FAILOVER_AT = isoNs(this.failoverAtNs);
    return e;
  }

  private async hook(phase: 'before' | 'after'): Promise<void> {
    const h = phase === 'before' ? this.opts.before : this.opts.after;
    if (h === undefined) return;
    const env = this.env(phase);
    this.log(`running the ${phase} hook`);
    try {
      if (typeof h === 'function') await h(env);
      else {
        const child = spawn('sh', ['-c', h], { stdio: 'inherit', env: { ...process.env, ...env } });
        const code = await new Promise<number | null>((r) => child.on('exit', r));
        if (code !== 0) this.hookFailures.push(`${phase} hook exited with ${code}`);
      }
    } catch (err) {
      this.hookFailures.push(`${phase} hook failed: ${(err as Error).message}`);
    }
  }

  // ---- cleanup --------------------------------------------------------------------------

  async cleanup(): Promise<void> {
    if (this.cleaned) return;
    await Promise.all(this.procs.filter((p) => !p.done).map((p) => this.stop(p, 'SIGTERM', 2000)));
    this.cleanupSync();
  }

  /** Synchronous so it can run from a signal handler: kill what we started, delete our namespaces. */
  cleanupSync(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    for (const p of this.procs) {
      if (!p.done && p.child.pid !== undefined) {
        try {
          process.kill(p.child.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
    for (const n of this.created) {
      if (n === this.ns.a && this.aGone) continue;
      try {
        // Only processes inside a namespace this run created: ours by construction.
        const pids = execFileSync('ip', ['netns', 'pids', n], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
        for (const pid of pids.split(/\s+/).filter(Boolean)) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      } catch {
        /* namespace already gone */
      }
      try {
        execFileSync('ip', ['netns', 'del', n], { stdio: 'ignore' });
      } catch {
        /* already gone */
      }
    }
  }
}

export function listFiles(dir: string, rel = ''): { name: string; bytes: number }[] {
  const out: { name: string; bytes: number }[] = [];
  for (const f of readdirSync(path.join(dir, rel)).sort()) {
    if (f.startsWith('.')) continue;
    const r = rel ? `${rel}/${f}` : f;
    const st = statSync(path.join(dir, r));
    if (st.isDirectory()) out.push(...listFiles(dir, r));
    else out.push({ name: r, bytes: st.size });
  }
  return out;
}

function chownTree(dir: string, uid: number, gid: number): void {
  chownSync(dir, uid, gid);
  for (const f of readdirSync(dir)) {
    const full = path.join(dir, f);
    if (statSync(full).isDirectory()) chownTree(full, uid, gid);
    else chownSync(full, uid, gid);
  }
}
