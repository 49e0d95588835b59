/**
 * The CLI loads the command it runs, not the others (src/cli/commands/index.ts): checked by
 * loadCommands() and by the modules a real run of `calls` resolves.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { COMMAND_NAMES, loadCommands } from '../../src/cli/commands/index.js';
import { repoRoot, runCli } from '../helpers/cli.js';

describe('commands loaded', () => {
  it('loadCommands: the one named, else every command in help order', async () => {
    expect((await loadCommands('calls')).map((c) => c.name)).toEqual(['calls']);
    expect((await loadCommands('watch')).map((c) => c.name)).toEqual(['watch']);
    for (const other of [undefined, 'help', '--help', '--debug', 'anlyze', 'toString', '__proto__'])
      expect((await loadCommands(other)).map((c) => c.name)).toEqual([...COMMAND_NAMES]);
    expect(COMMAND_NAMES).toEqual(['analyze', 'inspect', 'messages', 'calls', 'flow', 'conntrack', 'audit', 'probe', 'watch']);
  });

  it('help lists every command; a misspelt one is suggested; a command\'s own help is its own', async () => {
    const top = await runCli(['--help']);
    expect(top.code).toBe(0);
    for (const n of COMMAND_NAMES) expect(top.stdout).toMatch(new RegExp(`^  ${n} `, 'm'));
    const typo = await runCli(['anlyze', 'x.pcap']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('(Did you mean analyze?)');
    const own = await runCli(['calls', '--help']);
    expect(own.code).toBe(0);
    expect(own.stdout).toContain('Usage: stalepin calls [options] <capture...>');
  });

  it('a run of calls resolves none of the other commands\' modules', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stalepin-load-'));
    const log = join(dir, 'resolved.txt');
    writeFileSync(log, '');
    // A resolve hook (node:module register) writes every module URL the run resolves.
    writeFileSync(join(dir, 'hooks.mjs'), `import { appendFileSync } from 'node:fs';\nexport async function resolve(s, c, next) { const r = await next(s, c); appendFileSync(${JSON.stringify(log)}, r.url + '\\n'); return r; }\n`);
    writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`);
    const r = spawnSync(process.execPath, ['--import', pathToFileURL(join(dir, 'register.mjs')).href, join(repoRoot, 'bin', 'stalepin'), 'calls', join(repoRoot, 'fixtures', 'lab', 'fragmented', 'lb-any.pcap'), '--format', 'json'], {
      encoding: 'utf8',
      env: { ...process.env, STALEPIN_THREADS: '1' },
    });
    expect(r.status, r.stderr).toBe(0);
    const urls = readFileSync(log, 'utf8');
    expect(urls).toContain('/dist/cli/commands/calls.js');
    for (const other of COMMAND_NAMES.filter((n) => n !== 'calls')) expect(urls).not.toContain(`/dist/cli/commands/${other}.js`);
    expect(urls).not.toContain('/dist/watch/');
    expect(urls).not.toContain('/dist/audit/');
  });
});
