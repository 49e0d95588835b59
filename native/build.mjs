#!/usr/bin/env node
/**
 * npm install's build of stalepin's libpcap binding (native/pcap_live.c). Optional like the
 * binding itself: without libpcap's headers, a compiler or make, offline analysis works all the
 * same, so a failed build is one line of notice and exit 0, never a failed install.
 * STALEPIN_SKIP_NATIVE=1 skips it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const notice = (why) => {
  process.stderr.write(`stalepin: live capture binding not built (${why}); analysis of files works without it. For watch: apt-get install libpcap-dev g++ make, then npm rebuild\n`);
  process.exit(0);
};

if (process.env.STALEPIN_SKIP_NATIVE === '1') notice('STALEPIN_SKIP_NATIVE=1');
if (process.platform !== 'linux') notice(`${process.platform} is not supported`);
if (!existsSync('/usr/include/pcap/pcap.h') && !existsSync('/usr/local/include/pcap/pcap.h')) notice('no libpcap headers: pcap/pcap.h');

// npm hands its own node-gyp to install scripts; outside npm, one on the PATH.
const gyp = process.env.npm_config_node_gyp;
const [cmd, args] = gyp ? [process.execPath, [gyp, 'rebuild']] : ['node-gyp', ['rebuild']];
const r = spawnSync(cmd, args, { cwd: here, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
if (r.error) notice(`cannot run node-gyp: ${r.error.message}`);
if (r.status !== 0) {
  const tail = `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-8).join('\n');
  process.stderr.write(`${tail}\n`);
  notice(`node-gyp rebuild exited ${r.status}`);
}
