import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { commandModules, registerCommands } from '../src/commands/index.js';
import { runConform } from './run-conform.js';

// bin.ts loads only the command being run (commands/index.ts): the registry's names must be
// the names each file registers, and every command must still parse and answer through the
// binary, loaded alone.

/** Runs the binary to its exit; stdout is the help text here, not log lines. */
async function outputOf(args: string[]) {
  const p = runConform(args);
  const code = await p.exited;
  return { code, stdout: p.logs.map((l) => String(l.msg)).join('\n'), stderr: p.stderr() };
}

describe('the command registry', () => {
  it('each entry registers exactly the command it is named after', async () => {
    for (const [name, load] of Object.entries(commandModules)) {
      const program = new Command();
      (await load()).register(program);
      assert.deepEqual(
        program.commands.map((c) => c.name()),
        [name],
        name,
      );
    }
  });

  it('registers one command when the first argument names it, every one otherwise', async () => {
    const one = new Command();
    await registerCommands(one, ['replay', '--state-dir', '/x']);
    assert.deepEqual(
      one.commands.map((c) => c.name()),
      ['replay'],
    );
    for (const args of [[], ['--help'], ['help', 'replay'], ['replya'], ['-V']]) {
      const all = new Command();
      await registerCommands(all, args);
      assert.deepEqual(
        all.commands.map((c) => c.name()),
        Object.keys(commandModules),
        args.join(' '),
      );
    }
  });

  it('every command answers --help through the binary, and the top help lists them all', async () => {
    const top = await outputOf(['--help']);
    assert.equal(top.code, 0);
    for (const name of Object.keys(commandModules)) {
      assert.match(top.stdout, new RegExp(`^\\s+${name}\\b`, 'm'), `top help lists ${name}`);
      const help = await outputOf([name, '--help']);
      assert.equal(help.code, 0, name);
      assert.match(help.stdout, new RegExp(`^Usage: conform ${name}\\b`, 'm'), name);
    }
    const typo = await outputOf(['replya']);
    assert.notEqual(typo.code, 0);
    assert.match(typo.stderr, /unknown command 'replya'/);
    assert.match(typo.stderr, /replay/);
  });
});
