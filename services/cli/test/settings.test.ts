import assert from 'node:assert/strict';
import { mkdtemp, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { commandModules } from '../src/commands/index.js';
import { connectionFlags } from '../src/lifecycle.js';
import { FLAG_ENV } from '../src/options.js';
import {
  checkLibraries,
  DEFAULT_PORT,
  defaultStateDir,
  resolveSettings,
  type RawFlags,
} from '../src/settings.js';

// Every command file, as bin.ts loads them all for `conform --help`.
const commands = (await Promise.all(Object.values(commandModules).map((load) => load()))).map(
  (m) => m.register,
);

/**
 * Parses a real `conform` command line (every command registered as bin.ts does, actions
 * replaced by a capture) with `env` as the whole environment, so commander's `.env()` sees only
 * it. Returns the flags the action would get, and the command for their sources.
 */
function parse(argv: string[], env: NodeJS.ProcessEnv = {}): { flags: RawFlags; cmd: Command } {
  const program = new Command().exitOverride();
  for (const register of commands) register(program);
  let captured: { flags: RawFlags; cmd: Command } | null = null;
  for (const command of program.commands) {
    // Errors are thrown (exitOverride) and asserted; commander need not print them too.
    command.exitOverride().configureOutput({ writeErr: () => undefined });
    command.action((...args: unknown[]) => {
      const cmd = args.at(-1) as Command;
      captured = { flags: connectionFlags(cmd.opts<RawFlags>(), cmd), cmd };
    });
  }
  const saved = process.env;
  process.env = { ...env };
  try {
    program.parse(argv, { from: 'user' });
  } finally {
    process.env = saved;
  }
  assert.ok(captured, `${argv.join(' ')}: no action ran`);
  return captured;
}

/** The settings `conform up ARGV` starts with under `env`. */
function settingsOf(argv: string[], env: NodeJS.ProcessEnv = {}) {
  return resolveSettings(parse(['up', ...argv], env).flags, env);
}
const lib = ['--library', '/l', '--archive', '/a'];

describe('resolveSettings', () => {
  it('uses the quick-start defaults', () => {
    const s = resolveSettings({ library: '/l', archive: '/a' }, { HOME: '/home/u' });
    assert.deepEqual(s.libraries, [{ root: '/l', archive: '/a' }]);
    assert.equal(s.port, DEFAULT_PORT);
    assert.equal(s.host, '127.0.0.1');
    assert.equal(s.natsUrl, null);
    assert.equal(s.encoder, 'auto');
    assert.equal(s.natsWaitMs, 300_000, 'a start waits five minutes for NATS by default');
  });

  it('takes the NATS wait from --nats-wait or CONFORM_NATS_WAIT, in seconds', () => {
    assert.equal(settingsOf(lib, { CONFORM_NATS_WAIT: '30' }).natsWaitMs, 30_000);
    assert.equal(
      settingsOf([...lib, '--nats-wait', '0'], { CONFORM_NATS_WAIT: '30' }).natsWaitMs,
      0,
    );
    assert.throws(
      () => settingsOf([...lib, '--nats-wait', 'soon']),
      /--nats-wait must be a whole number from 0 to 86400, got "soon"/,
    );
  });

  it('lets the environment override connection settings, and flags override the environment', () => {
    const env = { NATS_URL: 'nats://env:4222', CONFORM_PORT: '9000', CONFORM_HOST: '0.0.0.0' };
    const fromEnv = settingsOf(lib, env);
    assert.equal(fromEnv.natsUrl, 'nats://env:4222');
    assert.equal(fromEnv.port, 9000);
    assert.equal(fromEnv.host, '0.0.0.0');
    const fromFlags = settingsOf([...lib, '--nats', 'nats://flag:4222', '--port', '9100'], env);
    assert.equal(fromFlags.natsUrl, 'nats://flag:4222');
    assert.equal(fromFlags.port, 9100);
  });

  it('names the flag and what was expected when a value is wrong', () => {
    assert.throws(
      () => resolveSettings({ library: '/l', archive: '/a', port: 'http' }, {}),
      /--port must be a whole number from 0 to 65535, got "http"/,
    );
    assert.throws(() => resolveSettings({ library: '/l' }, {}), /--library needs --archive DIR/);
    assert.throws(() => resolveSettings({}, {}), /--library DIR --archive DIR/);
    assert.throws(
      () => resolveSettings({ library: '/l', archive: '/a', encoder: 'x264' }, {}),
      /--encoder must be auto or one of libx265, libx264, libsvtav1, hevc_nvenc, .*h264_vaapi, got "x264"/,
    );
    for (const encoder of ['libsvtav1', 'av1_qsv', 'h264_vaapi']) {
      assert.equal(resolveSettings({ library: '/l', archive: '/a', encoder }, {}).encoder, encoder);
    }
  });

  it('takes stream replicas from --replicas over CONFORM_STREAM_REPLICAS, and placement tags', () => {
    assert.equal(settingsOf(lib, {}).streamReplicas, 1);
    const env = { CONFORM_STREAM_REPLICAS: '3', CONFORM_PLACEMENT_TAGS: 'ssd, eu' };
    assert.equal(settingsOf(lib, env).streamReplicas, 3);
    assert.deepEqual(settingsOf(lib, env).placementTags, ['ssd', 'eu']);
    assert.equal(settingsOf([...lib, '--replicas', '5'], env).streamReplicas, 5);
    assert.throws(
      () => settingsOf([...lib, '--replicas', '7']),
      /--replicas must be a whole number from 1 to 5, got "7"/,
    );
  });

  it('puts state under XDG_STATE_HOME, or CONFORM_STATE_DIR when set', () => {
    assert.equal(defaultStateDir({ XDG_STATE_HOME: '/s' }), '/s/conform');
    assert.equal(settingsOf(lib, { XDG_STATE_HOME: '/s' }).stateDir, '/s/conform');
    assert.equal(
      settingsOf(lib, { CONFORM_STATE_DIR: '/x/y', XDG_STATE_HOME: '/s' }).stateDir,
      '/x/y',
    );
    assert.equal(
      settingsOf([...lib, '--state-dir', '/f'], { CONFORM_STATE_DIR: '/x/y' }).stateDir,
      '/f',
    );
  });

  it('takes slots, encoder and metrics port from the flag, else the environment, else the default', () => {
    assert.equal(settingsOf(lib).encoderSlots, 1);
    assert.equal(settingsOf(lib).encoder, 'auto');
    assert.equal(settingsOf(lib).metricsPort, null);
    const env = {
      CONFORM_ENCODER_SLOTS: '3',
      CONFORM_ENCODER: 'libx265',
      CONFORM_METRICS_PORT: '9400',
    };
    assert.equal(settingsOf(lib, env).encoderSlots, 3);
    assert.equal(settingsOf(lib, env).encoder, 'libx265');
    assert.equal(settingsOf(lib, env).metricsPort, 9400);
    const flags = [...lib, '--slots', '2', '--encoder', 'hevc_nvenc', '--metrics-port', '9500'];
    assert.equal(settingsOf(flags, env).encoderSlots, 2);
    assert.equal(settingsOf(flags, env).encoder, 'hevc_nvenc');
    assert.equal(settingsOf(flags, env).metricsPort, 9500);
    // The variable is held to the flag's choices.
    assert.throws(
      () => settingsOf(lib, { CONFORM_ENCODER: 'x264' }),
      /value 'x264' from env 'CONFORM_ENCODER' is invalid\. Allowed choices are auto, libx265, libx264, libsvtav1, hevc_nvenc, /,
    );
    // Every encoder of the profile table is a choice, from the flag and from the variable.
    for (const name of ['libsvtav1', 'av1_qsv', 'h264_vaapi']) {
      assert.equal(settingsOf(lib, { CONFORM_ENCODER: name }).encoder, name);
      assert.equal(settingsOf([...lib, '--encoder', name], {}).encoder, name);
    }
  });
});

describe('--encode-nice', () => {
  it('runs encodes at niceness 19 by default, CONFORM_ENCODE_NICE next, the flag over both', () => {
    assert.equal(settingsOf(lib).encodeNiceness, 19);
    assert.equal(settingsOf(lib, { CONFORM_ENCODE_NICE: '0' }).encodeNiceness, 0);
    assert.equal(
      settingsOf([...lib, '--encode-nice', '12'], { CONFORM_ENCODE_NICE: '0' }).encodeNiceness,
      12,
    );
    assert.equal(
      resolveSettings(
        parse(['run', 'encoder', '--encode-nice', '4'], {}).flags,
        {},
        {
          requireLibrary: false,
        },
      ).encodeNiceness,
      4,
    );
  });

  it('refuses a niceness outside 0–19, naming the flag', () => {
    for (const bad of ['-1', '20', 'low', '2.5']) {
      assert.throws(
        () => settingsOf([...lib, '--encode-nice', bad]),
        new RegExp(
          `--encode-nice must be a whole number from 0 to 19, got "${bad.replace('.', '\\.')}"`,
        ),
      );
    }
  });
});

describe('flags and their environment variables', () => {
  const natsCommands = [
    ['up'],
    ['run', 'watcher'],
    ['restore', '/m/a.mkv'],
    ['pause'],
    ['resume'],
    ['retry', '/m/a.mkv'],
    ['replay'],
    ['audit', '/m/a.mkv'],
    ['clean'],
    ['plan'],
  ];

  it('every command with --nats reads NATS_URL when it is not given, and the flag wins', () => {
    for (const argv of natsCommands) {
      const fromEnv = parse(argv, { NATS_URL: 'nats://env:4222' });
      assert.equal(fromEnv.flags.nats, 'nats://env:4222', `${argv[0]}: NATS_URL`);
      assert.equal(fromEnv.cmd.getOptionValueSource('nats'), 'env');
      const fromFlag = parse([...argv, '--nats', 'nats://flag:4222'], {
        NATS_URL: 'nats://env:4222',
      });
      assert.equal(fromFlag.flags.nats, 'nats://flag:4222', `${argv[0]}: --nats`);
      assert.equal(parse(argv).flags.nats, undefined, `${argv[0]}: neither`);
    }
  });

  it('every command with --state-dir reads CONFORM_STATE_DIR', () => {
    for (const argv of natsCommands.filter(
      ([c]) => !['restore', 'pause', 'resume', 'retry'].includes(c!),
    )) {
      assert.equal(parse(argv, { CONFORM_STATE_DIR: '/x/y' }).flags.stateDir, '/x/y', argv[0]);
    }
  });

  it('run and clean read CONFORM_CONFIG; --library makes run ignore it', () => {
    const env = { CONFORM_CONFIG: '/c/quality.yaml' };
    const run = parse(['run', 'notify'], env);
    assert.equal((run.flags as { config?: string }).config, '/c/quality.yaml');
    const clean = parse(['clean'], env);
    assert.equal((clean.flags as { config?: string }).config, '/c/quality.yaml');
    const flag = parse(['clean', '--config', '/f.yaml'], env);
    assert.equal((flag.flags as { config?: string }).config, '/f.yaml');
    // run decides on the source: a config from the environment yields to --library.
    const quick = parse(['run', 'watcher', '--library', '/l'], env);
    assert.equal(quick.cmd.getOptionValueSource('config'), 'env');
  });

  it('splits CONFORM_PATH_MAP on commas, takes --path-map entries as given, flags over the variable', () => {
    const env = { CONFORM_PATH_MAP: '/media=/mnt/media,/archive=/mnt/archive' };
    assert.deepEqual(parse(['run', 'encoder'], env).flags.pathMap, [
      '/media=/mnt/media',
      '/archive=/mnt/archive',
    ]);
    assert.deepEqual(
      parse(['run', 'encoder', '--path-map', '/a,b=/c', '--path-map', '/d=/e'], env).flags.pathMap,
      ['/a,b=/c', '/d=/e'],
    );
  });

  it('names each variable in the help of its flag', () => {
    const program = new Command();
    for (const register of commands) register(program);
    const up = program.commands.find((c) => c.name() === 'up')!.helpInformation();
    for (const name of [
      'NATS_URL',
      'CONFORM_NATS_WAIT',
      'CONFORM_STATE_DIR',
      'CONFORM_PORT',
      'CONFORM_ENCODER',
    ]) {
      assert.match(up, new RegExp(`env:\\s+${name}\\b`), name);
    }
    assert.equal(Object.values(FLAG_ENV).length, new Set(Object.values(FLAG_ENV)).size);
  });
});

describe('checkLibraries', () => {
  it('refuses a missing library and an archive inside the library', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'conform-settings-'));
    await mkdir(join(dir, 'lib'));
    await assert.rejects(
      checkLibraries([{ root: join(dir, 'nope'), archive: join(dir, 'a') }]),
      /is not a directory/,
    );
    await assert.rejects(
      checkLibraries([{ root: join(dir, 'lib'), archive: join(dir, 'lib', 'archive') }]),
      /is inside library/,
    );
    await checkLibraries([{ root: join(dir, 'lib'), archive: join(dir, 'archive') }]);
  });
});
