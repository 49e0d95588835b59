/**
 * Where the time of `stalepin calls -f json` goes, by taking stages away: the whole command,
 * then with nothing written (a --call-id no call matches), then with a tracker that returns at
 * once, then with a dissector that does nothing (reading and decoding only). Each variant runs
 * in its own process, the build in dist/ as bin/stalepin runs it (no TypeScript loader), N times
 * in turn; wall-time medians are printed with each stage's share.
 *
 *   npm run build && node bench/stages.mjs CAPTURE [RUNS]
 *
 * A child started with STALEPIN_STAGE set replaces the stage named there before the command
 * loads; the stubs live in this file only, never in the tool.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stage = process.env.STALEPIN_STAGE;

if (stage !== undefined) {
  // Child: stub, then run the command with the remaining arguments.
  const info = { txId: 0, retransmission: false, forwardedCopy: false, callRef: 0 };
  if (stage === 'no-tracker' || stage === 'no-dissector') {
    const { SipTracker } = await import(join(root, 'dist/sip/transactions.js'));
    SipTracker.prototype.track = () => info;
  }
  if (stage === 'no-dissector') {
    const { SipDissector } = await import(join(root, 'dist/sip/dissector.js'));
    SipDissector.prototype.udp = () => false;
  }
  process.argv = [process.argv[0], join(root, 'bin/stalepin'), ...process.argv.slice(2)];
  await import(join(root, 'dist/cli/index.js'));
} else {
  const file = process.argv[2];
  const runs = Number(process.argv[3] ?? 5);
  if (!file || !(runs > 0)) {
    process.stderr.write('usage: node bench/stages.mjs CAPTURE [RUNS]\n');
    process.exit(2);
  }
  const self = fileURLToPath(import.meta.url);
  const variants = [
    { label: 'reading and decoding (the dissector does nothing)', stage: 'no-dissector', args: [] },
    { label: '+ dissection and parsing (the tracker does nothing)', stage: 'no-tracker', args: [] },
    { label: '+ transactions and calls (no call written)', stage: 'all', args: ['--call-id', 'stalepin-bench: matches no call'] },
    { label: '+ rendering and writing the list', stage: 'all', args: [] },
  ];
  const times = variants.map(() => []);
  for (let r = 0; r < runs; r++) {
    variants.forEach((v, i) => {
      const t0 = process.hrtime.bigint();
      const res = spawnSync(process.execPath, [self, 'calls', '-f', 'json', '-o', '/dev/null', ...v.args, file], {
        // One thread: the stubs replace this process's stages, not a worker's (sip/threaded.ts).
        env: { ...process.env, STALEPIN_STAGE: v.stage, STALEPIN_THREADS: '1' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      if (res.status !== 0) {
        process.stderr.write(`stages: ${v.label}: exit ${res.status}: ${res.stderr}\n`);
        process.exit(2);
      }
      times[i].push(wall);
    });
  }
  const median = (a) => [...a].sort((x, y) => x - y)[(a.length - 1) >> 1];
  process.stdout.write(`${file}, medians of ${runs} (wall)\n\n| Stages run | Wall | Stage's share |\n|---|---|---|\n`);
  let prev = 0;
  variants.forEach((v, i) => {
    const w = median(times[i]);
    process.stdout.write(`| ${v.label} | ${w.toFixed(2)} s | ${(w - prev).toFixed(2)} s |\n`);
    prev = w;
  });
}
