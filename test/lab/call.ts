/**
 * One more call from the lab's client, for hooks: the same fixed source port the carrier uses,
 * to the service address, with the lab's own UAC scenario. Used to show that once a stale entry
 * is deleted, the next INVITE from the same tuple gets a new mapping (to the live backend).
 * Only valid inside a hook, while the lab's namespaces exist.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatEndpoint } from '../../src/core/address.js';
import type { LabEnv } from './run.js';
import { uacScenario } from './scenarios.js';

export interface CallResult {
  /** sipp's exit code: 0 when the call was answered and completed. */
  code: number | null;
  /** The sipp message log (every message sent and received). */
  log: string;
}

/** Place one call from STALEPIN_LAB_CLIENT:STALEPIN_LAB_FIXED_PORT (or `port`) to the service. */
export async function placeFixedPortCall(env: LabEnv, opts: { port?: number; name?: string; timeoutMs?: number } = {}): Promise<CallResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'stalepin-lab-call-'));
  try {
    const scenario = path.join(dir, 'uac.xml');
    writeFileSync(scenario, uacScenario(false));
    const log = path.join(dir, 'call.log');
    const name = opts.name ?? 'extra';
    const port = String(opts.port ?? Number(env.STALEPIN_LAB_FIXED_PORT));
    const remote = formatEndpoint(env.STALEPIN_LAB_VIP!, Number(env.STALEPIN_LAB_SIP_PORT));
    const child = spawn(
      'ip',
      ['netns', 'exec', env.STALEPIN_LAB_NS_CLIENT!, 'sipp', '-sf', scenario, '-i', env.STALEPIN_LAB_CLIENT!, '-p', port, '-t', 'u1', '-m', '1', '-nostdin', '-nd',
        '-max_socket', '64', '-max_invite_retrans', '4', '-cid_str', `${name}-%u-%p@%s`, '-trace_msg', '-message_file', log, remote],
      { stdio: ['ignore', 'ignore', 'ignore'], cwd: dir },
    );
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    const code = await new Promise<number | null>((resolve) => {
      child.once('error', () => resolve(null));
      child.once('close', (c) => resolve(c));
    });
    clearTimeout(timer);
    let text = '';
    try {
      text = readFileSync(log, 'utf8');
    } catch {
      /* sipp wrote nothing */
    }
    return { code, log: text };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
