import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sampleData } from '@conform/contracts';
import {
  EventPublisher,
  eventually,
  provisionEventLog,
  startTestBus,
  type TestBus,
} from '@conform/bus';
import { QUALITY_EXAMPLES_DIR } from '@conform/config';
import { runConform } from './run-conform.js';

// `conform run notify` as compose runs it: the real binary, a config file naming a Jellyfin
// server and the environment variable with its key, a real nats-server and a real HTTP server.

let dir: string;
let t: TestBus;
let jellyfin: Server;
let jellyfinUrl: string;
const received: { auth: string; body: unknown }[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conform-cli-notify-'));
  t = await startTestBus('cli-notify-test');
  await provisionEventLog(t.bus.jsm, { maxBytes: 64 * 1024 * 1024 });
  jellyfin = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/Library/Media/Updated') {
        received.push({ auth: String(req.headers.authorization), body: JSON.parse(body) });
        res.writeHead(204).end();
      } else res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => jellyfin.listen(0, '127.0.0.1', r));
  jellyfinUrl = `http://127.0.0.1:${(jellyfin.address() as AddressInfo).port}`;
});
after(async () => {
  await new Promise<void>((r) => jellyfin.close(() => r()));
  await t.cleanup();
  await rm(dir, { recursive: true, force: true });
});

async function configFile(name: string, integrations: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(
    file,
    `version: 1\nlibraries:\n  - root: /media/movies\n    archive: /archive/movies\n${integrations}`,
  );
  return file;
}

describe('conform run notify', () => {
  it('config validate accepts config/examples/integrations.yaml', async () => {
    const p = runConform(['config', 'validate', join(QUALITY_EXAMPLES_DIR, 'integrations.yaml')]);
    assert.equal(await p.exited, 0, p.stderr());
  });

  it('refuses to run without integrations, and names an unset key variable', async () => {
    const none = runConform(['run', 'notify', '--nats', t.server.url]);
    assert.equal(await none.exited, 1);
    assert.match(none.stderr(), /conform run notify needs a --config whose integrations: section/);
    const file = await configFile(
      'unset.yaml',
      `integrations:\n  mediaServers:\n    - { name: jf, kind: jellyfin, url: '${jellyfinUrl}', apiKeyEnv: CONFORM_TEST_JF_KEY }\n`,
    );
    const unset = runConform(['run', 'notify', '--config', file, '--nats', t.server.url]);
    assert.equal(await unset.exited, 1);
    assert.match(
      unset.stderr(),
      /jf\.apiKeyEnv names the environment variable CONFORM_TEST_JF_KEY, which is not set/,
    );
  });

  it('refreshes Jellyfin after a swap, with the key from the environment', async () => {
    const file = await configFile(
      'jf.yaml',
      `integrations:\n  batchSeconds: 0.2\n  mediaServers:\n    - name: jf\n      kind: jellyfin\n      url: '${jellyfinUrl}'\n      apiKeyEnv: CONFORM_TEST_JF_KEY\n      pathMap: [{ from: /media, to: /data }]\n`,
    );
    const notify = runConform(['run', 'notify', '--config', file, '--nats', t.server.url], {
      CONFORM_TEST_JF_KEY: 'cli-secret-1234',
    });
    try {
      await notify.waitForLog('notify targets');
      await new EventPublisher(t.bus.js, { producer: 'archiver@test' }).emit(
        {
          type: 'file.replaced',
          data: {
            ...sampleData['file.replaced'],
            library: '/media/movies',
            path: '/media/movies/Film/Film.avi',
            newPath: '/media/movies/Film/Film.mkv',
          },
        },
        { fileId: 'fclinotify' },
      );
      await eventually(() => received.length === 1, { what: 'the Jellyfin refresh' });
      assert.match(received[0]!.auth, /Token="cli-secret-1234"/);
      assert.deepEqual(received[0]!.body, {
        Updates: [
          { Path: '/data/movies/Film/Film.avi', UpdateType: 'Deleted' },
          { Path: '/data/movies/Film/Film.mkv', UpdateType: 'Created' },
        ],
      });
      notify.child.kill('SIGTERM');
      assert.equal(await notify.exited, 0);
      assert.ok(!JSON.stringify(notify.logs).includes('cli-secret-1234'), 'the key was logged');
    } finally {
      notify.kill();
    }
  });
});
