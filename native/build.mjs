#!/usr/bin/env node
/**
 * npm install's build of stalepin's two N-API modules, each optional: a failed build is one
 * line of notice and exit 0, never a failed install.
 *  - native/sip: the C fast path of the SIP parser. Needs only a C compiler, make and python3
 *    (node-gyp). Without it the JavaScript parser does the same work, slower.
 *  - native/: the libpcap binding for live capture (watch, probe). Also needs libpcap's headers.
 *    Without it, analysis of files works all the same.
 * STALEPIN_SKIP_NATIVE=1 skips both.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const say = (line) => process.stderr.write(`stalepin: ${line}\n`);
const sipNotice = (why) => say(`C SIP parser not built (${why}); the JavaScript parser gives the same results, slower. For it: apt-get install g++ make python3, then npm rebuild`);
const pcapNotice = (why) => say(`live capture binding not built (${why}); analysis of files works without it. For watch: apt-get install libpcap-dev g++ make, then npm rebuild`);

/** node-gyp rebuild in dir; undefined on success, else why not. */
function rebuild(dir) {
  // npm hands its own node-gyp to install scripts; outside npm, one on the PATH.
  const gyp = process.env.npm_config_node_gyp;
  const [cmd, args] = gyp ? [process.execPath, [gyp, 'rebuild']] : ['node-gyp', ['rebuild']];
  const r = spawnSync(cmd, args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) return `cannot run node-gyp: ${r.error.message}`;
  if (r.status !== 0) {
    const tail = `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-8).join('\n');
    process.stderr.write(`${tail}\n`);
    return `node-gyp rebuild exited ${r.status}`;
  }
  return undefined;
}

if (process.env.STALEPIN_SKIP_NATIVE === '1') {
  sipNotice('STALEPIN_SKIP_NATIVE=1');
  pcapNotice('STALEPIN_SKIP_NATIVE=1');
  process.exit(0);
}

const sipFailed = rebuild(join(here, 'sip'));
if (sipFailed) sipNotice(sipFailed);

if (process.platform !== 'linux') pcapNotice(`${process.platform} is not supported`);
else if (!existsSync('/usr/include/pcap/pcap.h') && !existsSync('/usr/local/include/pcap/pcap.h')) pcapNotice('no libpcap headers: pcap/pcap.h');
else {
  const pcapFailed = rebuild(here);
  if (pcapFailed) pcapNotice(pcapFailed);
}
process.exit(0);
