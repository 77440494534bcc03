import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runConform } from './run-conform.js';

// Usage errors and start-up failures: one line saying what is wrong, and an exit code.

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conform-cli-'));
});
after(async () => rm(dir, { recursive: true, force: true }));

async function exitOf(args: string[], env: NodeJS.ProcessEnv = {}) {
  const p = runConform(args, env);
  const code = await p.exited;
  return { code, stderr: p.stderr() };
}

describe('conform command line', () => {
  it('exits 2 naming the missing flags when up has no library', async () => {
    const r = await exitOf(['up', '--state-dir', join(dir, 's')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /conform: give a library to watch: --library DIR --archive DIR/);
  });

  it('exits 2 when the library is not a directory', async () => {
    const r = await exitOf([
      'up',
      '--library',
      join(dir, 'nope'),
      '--archive',
      join(dir, 'a'),
      '--state-dir',
      join(dir, 's'),
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /library .*nope is not a directory/);
  });

  it('exits 2 for an unknown service and for run without NATS', async () => {
    const unknown = await exitOf(['run', 'transcoder', '--nats', 'nats://127.0.0.1:1']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown service "transcoder"; choose one of watcher, planner/);
    const noNats = await exitOf(['run', 'planner']);
    assert.equal(noNats.code, 2);
    assert.match(noNats.stderr, /conform run needs a NATS server: --nats URL or NATS_URL/);
  });

  it('run --config (or CONFORM_CONFIG, as compose sets it) takes the libraries from quality.yaml', async () => {
    const file = join(dir, 'run-config.yaml');
    const library = join(dir, 'not-mounted-library');
    await writeFile(
      file,
      `version: 1\nlibraries:\n  - name: l\n    root: ${library}\n    archive: ${join(dir, 'arch')}\n`,
    );
    const nats = ['--nats', 'nats://127.0.0.1:1', '--nats-wait', '0'];
    const byFlag = await exitOf(['run', 'archiver', '--config', file, ...nats]);
    assert.equal(byFlag.code, 2);
    assert.match(byFlag.stderr, /library .*not-mounted-library is not a directory/);
    const byEnv = await exitOf(['run', 'watcher', ...nats], { CONFORM_CONFIG: file });
    assert.equal(byEnv.code, 2);
    assert.match(byEnv.stderr, /library .*not-mounted-library is not a directory/);
  });

  it('exits 1 with the reason when NATS cannot be reached', async () => {
    const r = await exitOf(['run', 'planner', '--nats', 'nats://127.0.0.1:1', '--nats-wait', '0']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot connect to NATS at nats:\/\/127.0.0.1:1/);
  });

  it('waits for NATS, logging each retry, then gives up after --nats-wait', async () => {
    const p = runConform(['run', 'planner', '--nats', 'nats://127.0.0.1:1', '--nats-wait', '2']);
    const code = await p.exited;
    assert.equal(code, 1);
    const waits = p.logs.filter((l) => l.msg === 'waiting for NATS');
    assert.ok(waits.length >= 2, `retries are logged while waiting: ${JSON.stringify(p.logs)}`);
    assert.equal(waits[0]?.servers, 'nats://127.0.0.1:1');
    assert.match(
      p.stderr(),
      /cannot connect to NATS at nats:\/\/127.0.0.1:1.*gave up after \d+ attempts in 2 s/,
    );
  });

  it('takes NATS from NATS_URL and CONFORM_NATS_WAIT, and --nats over the variable', async () => {
    const env = { NATS_URL: 'nats://127.0.0.1:2', CONFORM_NATS_WAIT: '0' };
    const fromEnv = await exitOf(['run', 'planner'], env);
    assert.equal(fromEnv.code, 1);
    assert.match(fromEnv.stderr, /cannot connect to NATS at nats:\/\/127.0.0.1:2/);
    const fromFlag = await exitOf(['pause', '--nats', 'nats://127.0.0.1:1'], env);
    assert.equal(fromFlag.code, 1);
    assert.match(fromFlag.stderr, /cannot reach NATS at nats:\/\/127.0.0.1:1/);
  });
});
