/**
 * Audit on the recorded lab cases (a real kernel's failover): for every variant, every table form
 * of the after-failover snapshot and both kinds of backend set (the nft ruleset the lab recorded,
 * the inventory with --vip), the flagged entries are exactly truth.pinned (critical pinned-flow)
 * plus truth.staleEntries (warning), nothing in truth.mustNotFlag, with or without --tcp. Before
 * the failover, or against the ruleset of before, nothing is stale.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runAudit, type AuditOptions } from '../../src/audit/run.js';
import { repoRoot } from '../helpers/cli.js';

const VARIANTS = ['killed', 'link-down', 'netns-deleted', 'ipv6', 'fragmented'];
const FORMS = ['conntrack-after.txt', 'conntrack-after.extended.txt', 'conntrack-after.ktimestamp.txt', 'conntrack-after.xml', 'nf_conntrack-after.txt'];

interface Flow {
  transport: string;
  client: string;
  service: string;
  target: string;
}
interface Truth {
  service: string;
  pinned: Flow[];
  staleEntries: Flow[];
  mustNotFlag: Flow[];
}

const dir = (v: string): string => join(repoRoot, 'fixtures', 'lab', v);
const truthOf = (v: string): Truth => JSON.parse(readFileSync(join(dir(v), 'truth.json'), 'utf8')) as Truth;
const key = (f: Flow): string => `${f.transport} ${f.client} ${f.service} ${f.target}`;

function base(v: string, form: string, backends: 'nft' | 'inventory', extra: Partial<AuditOptions> = {}): AuditOptions {
  const t = truthOf(v);
  return {
    conntrack: join(dir(v), form),
    ipvs: false,
    tcp: false,
    fromNft: false,
    fromIptables: false,
    fromIpvs: false,
    vips: backends === 'inventory' ? [t.service] : [],
    ...(backends === 'nft' ? { nodes: join(dir(v), 'nft-after.json') } : { nodes: join(dir(v), 'inventory.json') }),
    ...extra,
  };
}

describe.each(VARIANTS)('audit on the lab case %s', (v) => {
  const truth = truthOf(v);
  const pinned = truth.pinned.map(key).sort();
  const stale = truth.staleEntries.map(key).sort();
  const never = new Set(truth.mustNotFlag.map(key));

  it.each(FORMS.flatMap((form) => (['nft', 'inventory'] as const).flatMap((b) => [false, true].map((tcp) => [form, b, tcp] as const))))(
    '%s with the %s backend set, --tcp %s: exactly the pinned and stale entries',
    async (form, backends, tcp) => {
      const res = await runAudit(base(v, form, backends, { tcp }));
      const f = res.report.findings;
      const got = (pred: (x: (typeof f)[number]) => boolean): string[] =>
        f
          .filter(pred)
          .map((x) => `${x.transport} ${x.client} ${x.service} ${x.target}`)
          .sort();
      expect(got((x) => x.severity === 'critical')).toEqual(pinned);
      expect(got((x) => x.kind === 'pinned-flow')).toEqual(pinned);
      expect(got((x) => x.severity === 'warning')).toEqual(stale);
      for (const x of f) expect(never.has(`${x.transport} ${x.client} ${x.service} ${x.target}`)).toBe(false);
      expect(res.report.audit.counts.tcpStuck).toBe(0);
      // The exact delete names the whole original tuple and the stale reply source.
      const p = f.find((x) => x.kind === 'pinned-flow')!;
      const c = p.client.match(/^\[?(.+?)\]?:(\d+)$/)!;
      const s = p.service!.match(/^\[?(.+?)\]?:(\d+)$/)!;
      const t = p.target!.match(/^\[?(.+?)\]?:\d+$/)!;
      expect(p.remedy).toBe(
        `conntrack -D ${v === 'ipv6' ? '-f ipv6 ' : ''}-p udp --orig-src ${c[1]} --orig-port-src ${c[2]} --orig-dst ${s[1]} --orig-port-dst ${s[2]} --reply-src ${t[1]}`,
      );
    },
  );

  it('the before table against the before ruleset: nothing stale', async () => {
    const res = await runAudit({ conntrack: join(dir(v), 'conntrack-before.extended.txt'), nodes: join(dir(v), 'nft-before.json'), ipvs: false, tcp: true, fromNft: false, fromIptables: false, fromIpvs: false, vips: [] });
    expect(res.report.findings).toEqual([]);
    expect(res.report.audit.counts.toServices).toBeGreaterThan(0);
  });

  it('the after table with both backends active: nothing stale', async () => {
    const dead = truth.pinned[0]!.target.replace(/^\[?(.+?)\]?:\d+$/, '$1');
    const live = truth.mustNotFlag.find((f) => f.transport === 'udp')!.target.replace(/^\[?(.+?)\]?:\d+$/, '$1');
    const res = await runAudit({
      conntrack: join(dir(v), 'conntrack-after.extended.txt'),
      nodes: '-',
      stdin: Readable.from([`${dead} active\n${live} active\n`]),
      ipvs: false,
      tcp: true,
      fromNft: false,
      fromIptables: false,
      fromIpvs: false,
      vips: [truth.service],
    });
    expect(res.report.findings).toEqual([]);
    expect(res.report.audit.counts.toServices).toBeGreaterThan(0);
  });

  it('the event stream is refused: it is not a table', async () => {
    await expect(runAudit(base(v, 'conntrack-events.txt', 'nft'))).rejects.toThrow(/event stream .* is not a table/);
  });
});
