/** Small pieces several commands share: the SIP port option, warning lines. */
import type { Warning } from '../core/anomalies.js';
import { badUsage } from '../core/errors.js';
import { visible } from '../report/visible.js';
import { DEFAULT_SIP_PORTS } from '../sip/types.js';
import type { Io, OptionSpec } from './spec.js';

export const sipPortsOption: OptionSpec = {
  key: 'sipPort',
  flags: '--sip-port <ports>',
  description: `SIP ports, comma separated or repeated (default ${DEFAULT_SIP_PORTS.join(',')}); SIP on other ports is still found by its start line`,
  kind: 'list',
  default: DEFAULT_SIP_PORTS.map(String),
};

export function parseSipPorts(values: string[] | undefined): number[] {
  if (!values || values.length === 0) return [...DEFAULT_SIP_PORTS];
  return values.map((v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw badUsage(`--sip-port: not a port number: ${v}`);
    return n;
  });
}

/** One line per warning on stderr: "stalepin: warning: FILE: at byte N: message". */
export function printWarnings(io: Io, warnings: Warning[]): void {
  for (const w of warnings) {
    const where = [w.file, w.offset !== undefined ? `at byte ${w.offset}` : undefined].filter(Boolean).join(': ');
    io.stderr.write(`stalepin: warning: ${visible(where ? where + ': ' + w.message : w.message)}\n`);
  }
}
