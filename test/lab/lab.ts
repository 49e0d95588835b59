/**
 * npm run lab -- --variant V --out DIR [--before CMD] [--after CMD] [--termination T]
 *                [--capture any|interfaces] [--fixed-port N] [--calls-before N] [--calls-after N]
 *                [--keep-work]
 *
 * Exit: 0 the incident was reproduced and recorded; 1 the run finished but did not reproduce it
 * (truth.json lists the problems) or a hook failed; 2 bad usage or not runnable here (not root,
 * a tool missing); 3 the lab itself broke.
 */
import { parseArgs } from 'node:util';
import { StalepinError } from '../../src/core/errors.js';
import { runLab } from './run.js';
import { type CaptureMode, type Termination, type Variant, VARIANT_SPECS, VARIANTS } from './topology.js';

const USAGE = `usage: npm run lab -- --variant <${VARIANTS.join('|')}> --out DIR [options]

  --variant V          which failover to reproduce (default killed)
${VARIANTS.map((v) => `                         ${v.padEnd(14)} ${VARIANT_SPECS[v].summary}`).join('\n')}
  --out DIR            case folder to write (required)
  --before CMD         shell command run before the failover (namespaces up, env STALEPIN_LAB_*)
  --after CMD          shell command run after the failover, before teardown
  --termination T      override how A dies: killed | link-down | netns-deleted
  --capture C          override the capture: any (tcpdump -i any, pcap) | interfaces (dumpcap, pcapng)
  --fixed-port N       the carrier's fixed source port (default 5080)
  --calls-before N     calls of each kind before the failover (default 2)
  --calls-after N      calls of each kind after the failover (default 2)
  --keep-work          keep DIR/.work (sipp screens, scenarios) for debugging
`;

function int(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new StalepinError('bad_usage', `--${name} must be an integer from 1 to 65535, got "${v}"`);
  return n;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      variant: { type: 'string', default: 'killed' },
      out: { type: 'string' },
      before: { type: 'string' },
      after: { type: 'string' },
      termination: { type: 'string' },
      capture: { type: 'string' },
      'fixed-port': { type: 'string' },
      'calls-before': { type: 'string' },
      'calls-after': { type: 'string' },
      'keep-work': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!values.out) throw new StalepinError('bad_usage', '--out DIR is required (see --help)');
  if (values.termination !== undefined && !['killed', 'link-down', 'netns-deleted'].includes(values.termination))
    throw new StalepinError('bad_usage', `--termination must be killed, link-down or netns-deleted, got "${values.termination}"`);
  if (values.capture !== undefined && !['any', 'interfaces'].includes(values.capture))
    throw new StalepinError('bad_usage', `--capture must be any or interfaces, got "${values.capture}"`);
  const callsBefore = int('calls-before', values['calls-before']);
  const callsAfter = int('calls-after', values['calls-after']);
  if ((callsBefore ?? 0) > 20 || (callsAfter ?? 0) > 20) throw new StalepinError('bad_usage', 'at most 20 calls of each kind');

  const res = await runLab({
    variant: values.variant as Variant,
    out: values.out,
    before: values.before,
    after: values.after,
    termination: values.termination as Termination | undefined,
    capture: values.capture as CaptureMode | undefined,
    fixedPort: int('fixed-port', values['fixed-port']),
    callsBefore,
    callsAfter,
    keepWork: values['keep-work'],
    log: (l) => process.stderr.write(`lab: ${l}\n`),
  });
  const t = res.truth;
  process.stdout.write(
    `${res.out}: ${t.variant} in ${res.seconds.toFixed(1)} s\n` +
      t.pinned.map((p) => `  pinned ${p.transport} ${p.client} -> ${p.service} -> ${p.target} (conntrack id ${p.conntrackId}), lost ${p.lostCallIds.length} calls\n`).join('') +
      `  stale entries ${t.staleEntries.length}, must-not-flag flows ${t.mustNotFlag.length}, failover ${t.failoverAt}\n` +
      res.files.map((f) => `  ${f.name} ${f.bytes}\n`).join(''),
  );
  for (const p of t.problems) process.stderr.write(`lab: not reproduced: ${p}\n`);
  for (const h of res.hookFailures) process.stderr.write(`lab: ${h}\n`);
  return t.problems.length || res.hookFailures.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof StalepinError) {
      process.stderr.write(`lab: ${err.oneLine()}\n`);
      process.exit(err.exitCode);
    }
    if (err instanceof TypeError && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`lab: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`lab: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(3);
  },
);
