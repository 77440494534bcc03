import assert from 'node:assert/strict';
import { mkdtemp, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkLibraries, DEFAULT_PORT, defaultStateDir, resolveSettings } from '../src/settings.js';

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
    const lib = { library: '/l', archive: '/a' };
    assert.equal(resolveSettings(lib, { CONFORM_NATS_WAIT: '30' }).natsWaitMs, 30_000);
    assert.equal(
      resolveSettings({ ...lib, natsWait: '0' }, { CONFORM_NATS_WAIT: '30' }).natsWaitMs,
      0,
    );
    assert.throws(
      () => resolveSettings({ ...lib, natsWait: 'soon' }, {}),
      /--nats-wait must be a whole number from 0 to 86400, got "soon"/,
    );
  });

  it('lets the environment override connection settings, and flags override the environment', () => {
    const env = { NATS_URL: 'nats://env:4222', CONFORM_PORT: '9000', CONFORM_HOST: '0.0.0.0' };
    const fromEnv = resolveSettings({ library: '/l', archive: '/a' }, env);
    assert.equal(fromEnv.natsUrl, 'nats://env:4222');
    assert.equal(fromEnv.port, 9000);
    assert.equal(fromEnv.host, '0.0.0.0');
    const fromFlags = resolveSettings(
      { library: '/l', archive: '/a', nats: 'nats://flag:4222', port: '9100' },
      env,
    );
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
    const lib = { library: '/l', archive: '/a' };
    assert.equal(resolveSettings(lib, {}).streamReplicas, 1);
    const env = { CONFORM_STREAM_REPLICAS: '3', CONFORM_PLACEMENT_TAGS: 'ssd, eu' };
    assert.equal(resolveSettings(lib, env).streamReplicas, 3);
    assert.deepEqual(resolveSettings(lib, env).placementTags, ['ssd', 'eu']);
    assert.equal(resolveSettings({ ...lib, replicas: '5' }, env).streamReplicas, 5);
    assert.throws(
      () => resolveSettings({ ...lib, replicas: '7' }, {}),
      /--replicas must be a whole number from 1 to 5, got "7"/,
    );
  });

  it('puts state under XDG_STATE_HOME, or CONFORM_STATE_DIR when set', () => {
    assert.equal(defaultStateDir({ XDG_STATE_HOME: '/s' }), '/s/conform');
    assert.equal(defaultStateDir({ CONFORM_STATE_DIR: '/x/y' }), '/x/y');
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
