/**
 * Live backend sets for `audit`: read the host's own forwarding rules (`nft -j list ruleset`,
 * `iptables-save` + `ip6tables-save`, `ipvsadm -Ln`), optionally inside a network namespace
 * through `ip netns exec`. A missing binary, kernel feature or privilege is a StalepinError
 * that says what to install or which capability is missing.
 */
import { execFile } from 'node:child_process';
import { StalepinError } from '../core/errors.js';
import { visible } from '../report/visible.js';
import { parseIptablesSave } from './iptables.js';
import { parseIpvsList } from './ipvs.js';
import { merge, type Inventory } from './model.js';
import { parseNftJson } from './nft.js';

export type LiveKind = 'nft' | 'iptables' | 'ipvs';

export interface LiveOptions {
  /** Environment for the child (tests set PATH). */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

interface Cmd {
  argv: string[];
  pkg: string;
}

const COMMANDS: Record<LiveKind, Cmd[]> = {
  nft: [{ argv: ['nft', '-j', 'list', 'ruleset'], pkg: 'nftables' }],
  iptables: [
    { argv: ['iptables-save'], pkg: 'iptables' },
    { argv: ['ip6tables-save'], pkg: 'iptables' },
  ],
  ipvs: [{ argv: ['ipvsadm', '-Ln'], pkg: 'ipvsadm' }],
};

interface RunResult {
  stdout: string;
  stderr: string;
  code: number | string | null;
  spawnError?: NodeJS.ErrnoException;
}

function run(argv: string[], opts: LiveOptions): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      argv[0]!,
      argv.slice(1),
      { env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 30_000, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (!err) return resolve({ stdout, stderr, code: 0 });
        const e = err as NodeJS.ErrnoException & { code?: number | string };
        if (e.code === 'ENOENT' || e.code === 'EACCES') return resolve({ stdout, stderr, code: null, spawnError: e });
        resolve({ stdout, stderr, code: e.code ?? (child.killed ? 'timeout' : null) });
      },
    );
  });
}

/**
 * Turn a failed run into one clear StalepinError. Exported for tests: the messages of nft,
 * iptables, ipvsadm and ip netns differ, and each case needs its own advice.
 */
export function classifyFailure(cmd: string, pkg: string, netns: string | undefined, r: RunResult): StalepinError {
  const tool = cmd.split(' ')[0]!;
  const where = netns === undefined ? '' : ` in network namespace ${visible(netns)}`;
  if (r.spawnError) {
    const missing = r.spawnError.path ?? tool;
    if (missing === 'ip')
      return new StalepinError('missing_dependency', `ip (iproute2) not found: install iproute2 to read rules inside a network namespace`);
    return new StalepinError('missing_dependency', `${tool} not found: install ${pkg} (e.g. apt-get install ${pkg}) to read the live rules`);
  }
  const err = r.stderr.trim().split('\n').slice(-2).join(' ').slice(0, 200);
  if (/Cannot open network namespace|No such file or directory.*netns|netns.*does not exist/i.test(r.stderr))
    return new StalepinError('bad_usage', `network namespace ${visible(netns ?? '')} does not exist (see ip netns list)`);
  if (/exec of .* failed: No such file or directory|execvp.*No such file|exec.*not found/i.test(r.stderr))
    return new StalepinError('missing_dependency', `${tool} not found${where}: install ${pkg} (e.g. apt-get install ${pkg})`);
  // Before the IPVS check: ipvsadm adds "Are you sure that IP Virtual Server is built in..." to both.
  if (/Operation not permitted|Permission denied|you must be root|must be run as root|EPERM|EACCES/i.test(r.stderr))
    return new StalepinError('permission', `${cmd}${where} needs CAP_NET_ADMIN (run as root or grant the capability): ${visible(err)}`);
  if (tool === 'ipvsadm' && /Protocol not available|Address family not supported/i.test(r.stderr))
    return new StalepinError('missing_dependency', `${tool}: the kernel has no IPVS${where} (load the ip_vs module: modprobe ip_vs)`);
  if (r.code === 'timeout') return new StalepinError('bad_input', `${cmd}${where} did not finish in time`);
  return new StalepinError('bad_input', `${cmd}${where} failed (exit ${String(r.code)}): ${visible(err)}`);
}

/**
 * Read the live rules of this host (or of network namespace `netns`) into an Inventory.
 * For 'iptables' both iptables-save and ip6tables-save are read and merged; a missing
 * ip6tables-save is a warning, not a failure.
 */
export async function readLiveRules(kind: LiveKind, netns?: string, opts: LiveOptions = {}): Promise<Inventory> {
  const cmds = COMMANDS[kind];
  if (!cmds) throw new StalepinError('bad_usage', `unknown live rule source ${visible(String(kind))}: use nft, iptables or ipvs`);
  if (netns !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(netns))
    throw new StalepinError('bad_usage', `network namespace name ${visible(netns)} is not valid`);
  const invs: Inventory[] = [];
  for (let i = 0; i < cmds.length; i++) {
    const c = cmds[i]!;
    const argv = netns === undefined ? c.argv : ['ip', 'netns', 'exec', netns, ...c.argv];
    const label = c.argv.join(' ') + (netns === undefined ? '' : ` (netns ${netns})`);
    const r = await run(argv, opts);
    if (r.code !== 0) {
      const e = classifyFailure(c.argv.join(' '), c.pkg, netns, r);
      // ip6tables-save is secondary: IPv4 rules alone are still an answer.
      if (i > 0 && kind === 'iptables' && e.code === 'missing_dependency' && invs.length) {
        invs[0]!.warnings.push({ code: 'inventory_live_partial', message: `${e.message}; IPv6 rules not read`, file: label });
        invs[0]!.incomplete ??= `${label}: ${e.message}; IPv6 rules not read`;
        continue;
      }
      throw e;
    }
    switch (kind) {
      case 'nft':
        try {
          invs.push(parseNftJson(r.stdout, label));
        } catch (e) {
          throw new StalepinError('bad_input', `${label} printed no nftables JSON: ${visible(String((e as Error).message))}`, {}, { cause: e });
        }
        break;
      case 'iptables':
        invs.push(parseIptablesSave(r.stdout, label));
        break;
      case 'ipvs':
        invs.push(parseIpvsList(r.stdout, label));
        break;
    }
  }
  if (invs.length === 1) return invs[0]!;
  const m = merge(invs);
  // An empty ip6tables nat table says nothing about IPv4: drop its "no backends" warning.
  if (m.nodes.length) m.warnings = m.warnings.filter((w) => w.code !== 'inventory_no_backends');
  return m;
}
