import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { eventually } from '@conform/bus';
import { generateClip } from '@conform/media';
import { tableRows } from '@conform/projections';
import {
  conformBin,
  processAlive,
  runConform,
  type ConformProcess,
  upArgs,
} from './run-conform.js';

// `conform status`, `conform audit` and `conform replay` through the real binary, against the
// read models and event log a real `conform up` left after replacing one clip.

type FileItem = {
  fileId: string;
  path: string;
  status: string;
  archivePath: string | null;
  bytesSaved: number | null;
};

/** Runs a short-lived conform command to its end. */
function conformOnce(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [conformBin, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NATS_URL: '', LOG_LEVEL: 'info', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A loopback port nothing listens on (bound once, then released). */
async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Every read-model table, each row as an object (see tableRows). */
function dumpTables(file: string): Record<string, unknown[]> {
  const db = new Database(file, { readonly: true });
  try {
    return tableRows(db);
  } finally {
    db.close();
  }
}

let root: string;
let conform: ConformProcess;
let statusUrl: string;
let natsUrl: string;
let clip: string;
let fileId: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'conform-read-side-'));
  await mkdir(join(root, 'library'), { recursive: true });
  conform = runConform(upArgs(root));
  statusUrl = String((await conform.waitForLog('status server listening')).url);
  natsUrl = String((await conform.waitForLog('embedded nats-server started')).url);
  await generateClip({
    path: join(root, 'staged.mkv'),
    durationSec: 1,
    width: 320,
    height: 240,
    videoCodec: 'h264',
    audioTracks: 1,
  });
  clip = join(root, 'library', 'Clip.mkv');
  await rename(join(root, 'staged.mkv'), clip);
  const replaced = await eventually(
    async () => {
      const files = (await (await fetch(`${statusUrl}/api/files`)).json()) as FileItem[];
      // The watcher sees the swapped-in output as a changed file and the planner judges it
      // compliant: only then has the lifecycle settled and the log stopped growing.
      return files.find((f) => f.path === clip && f.status === 'compliant' && f.archivePath);
    },
    { timeoutMs: 150_000, intervalMs: 500, what: 'the clip replaced and judged compliant' },
  );
  fileId = replaced.fileId;
});

after(async () => {
  conform?.kill();
  await rm(root, { recursive: true, force: true });
});

describe('conform status, audit and replay after a real replacement', { timeout: 240_000 }, () => {
  it('status prints the counts, the compliance and the bytes saved', async () => {
    const summary = (await (await fetch(`${statusUrl}/api/summary`)).json()) as {
      bytesSaved: number;
    };
    assert.ok(summary.bytesSaved > 0, 'the HEVC output is smaller than the H.264 source');
    const { code, stdout, stderr } = await conformOnce(['status', '--url', statusUrl]);
    assert.equal(code, 0, stderr);
    const [head, counts] = stdout.split('\n');
    assert.match(
      head!,
      /^files 1 {3}compliance 100% \(1\/1\) {3}saved \d+\.\d MiB {3}queued 0 {3}dead letters 0$/,
    );
    const shownMiB = Number(/saved (\d+\.\d) MiB/.exec(head!)![1]);
    assert.equal(shownMiB, Number((summary.bytesSaved / 1024 / 1024).toFixed(1)));
    assert.equal(counts, 'compliant 1');
    assert.match(stdout, /\[#{20}\] 100% .*library/);
  });

  it('status names the URL when no status server answers', async () => {
    const url = `http://127.0.0.1:${await unusedPort()}`;
    const { code, stderr } = await conformOnce(['status', '--url', url]);
    assert.notEqual(code, 0);
    assert.match(stderr, new RegExp(`no status server at ${url}`));
  });

  it('audit PATH prints the whole history in order, with the policy and every check', async () => {
    // An empty state home: the path must be found through the event log the URL points at,
    // not through some local read model.
    const home = join(root, 'elsewhere');
    const { code, stdout, stderr } = await conformOnce(['audit', clip, '--nats', natsUrl], {
      XDG_STATE_HOME: home,
      CONFORM_STATE_DIR: '',
    });
    assert.equal(code, 0, stderr);
    assert.ok(stdout.startsWith(`${clip} (file id ${fileId})`), stdout);
    const types = [...stdout.matchAll(/^\S+ {2}#(\d+) {2}(\S+) {2}by /gm)].map((m) => ({
      seq: Number(m[1]),
      type: m[2],
    }));
    assert.deepEqual(
      types.map((t) => t.type),
      [
        'file.discovered',
        'file.probed',
        'file.planned',
        'encode.started',
        'encode.completed',
        'verify.passed',
        'file.replaced',
        'file.changed',
        'file.probed',
        'file.planned',
      ],
      stdout,
    );
    const seqs = types.map((t) => t.seq);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
      'in stream order',
    );

    const plans = [...stdout.matchAll(/file\.planned.*policy (\S+)\n {4}decision (\S+): (.+)$/gm)];
    assert.equal(plans.length, 2, stdout);
    const [encode, compliant] = plans;
    assert.match(encode![1]!, /^[0-9a-f]{8,}$/, 'the policy version is a hash');
    assert.equal(encode![2], 'encode');
    assert.match(encode![3]!, /h264/, 'the reason names the codec');
    assert.equal(compliant![1], encode![1], 'the output was judged by the same policy');
    assert.equal(compliant![2], 'compliant');
    for (const type of ['encode.completed', 'verify.passed', 'file.replaced']) {
      assert.match(
        stdout,
        new RegExp(`${type.replace('.', '\\.')}  by \\S+  policy ${encode![1]}`),
      );
    }

    const checks = [...stdout.matchAll(/^ {4}(pass|FAIL) (\S+): measured (.+), limit (.+)$/gm)];
    assert.ok(checks.length >= 3, stdout);
    for (const [, verdict, name, measured, limit] of checks) {
      assert.equal(verdict, 'pass', `${name} passed`);
      assert.notEqual(measured, 'undefined', `${name} has a measured value`);
      assert.notEqual(limit, 'undefined', `${name} has a limit`);
    }
    const byName = new Map(checks.map((c) => [c[2], { measured: c[3]!, limit: c[4]! }]));
    for (const name of ['video-codec', 'duration', 'size-guard', 'ssim', 'decode']) {
      assert.ok(byName.has(name), `a ${name} check: ${[...byName.keys()].join(', ')}`);
    }
    assert.deepEqual(byName.get('video-codec'), { measured: 'hevc', limit: 'hevc' });
    const ssim = byName.get('ssim')!;
    assert.equal(ssim.limit, '0.95', 'the default SSIM floor');
    assert.ok(Number(ssim.measured) >= 0.95 && Number(ssim.measured) <= 1, ssim.measured);
    const size = byName.get('size-guard')!;
    assert.equal(size.limit, '1', 'the default size ratio');
    assert.ok(Number(size.measured) > 0 && Number(size.measured) < 1, size.measured);

    const replaced = /file\.replaced.*\n {4}archived to (.+); saved (\d+) bytes$/m.exec(stdout);
    assert.ok(replaced, stdout);
    assert.equal(replaced[1], join(root, 'archive', 'Clip.mkv'));
    const [original, output] = await Promise.all([stat(replaced[1]), stat(clip)]);
    assert.equal(Number(replaced[2]), original.size - output.size);
    assert.ok(Number(replaced[2]) > 0);
    assert.deepEqual(await readdir(home).catch(() => []), [], 'audit left no state behind');
  });

  it('audit takes a file id too, and says so when the log has no such file', async () => {
    const byId = await conformOnce(['audit', fileId, '--nats', natsUrl]);
    assert.equal(byId.code, 0, byId.stderr);
    assert.match(byId.stdout, /file\.discovered[\s\S]*file\.replaced/);

    const unknown = await conformOnce(
      ['audit', join(root, 'library', 'Nope.mkv'), '--nats', natsUrl],
      {
        XDG_STATE_HOME: join(root, 'elsewhere'),
        CONFORM_STATE_DIR: '',
      },
    );
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /Nope\.mkv/);
  });

  it('replay after conform up stopped rebuilds the same read models, row for row', async () => {
    const natsPid = Number((await conform.waitForLog('embedded nats-server started')).pid);
    conform.child.kill('SIGTERM');
    assert.equal(await conform.exited, 0, conform.stderr());
    await eventually(() => !processAlive(natsPid), { what: 'the embedded nats-server gone' });

    const file = join(root, 'state', 'read-models.sqlite');
    const before = dumpTables(file);
    assert.ok(before.files?.length === 1 && before.jobs?.length === 1, JSON.stringify(before));

    // Emptied first, so equal tables afterwards can only come from the event log.
    const db = new Database(file);
    for (const table of Object.keys(before)) db.prepare(`delete from "${table}"`).run();
    db.close();

    // Nothing listens on the status port replay checks, so it starts the embedded nats-server
    // on the same store itself.
    const { code, stdout, stderr } = await conformOnce(
      ['replay', '--state-dir', join(root, 'state')],
      { CONFORM_PORT: String(await unusedPort()) },
    );
    assert.equal(code, 0, stderr);
    const rebuilt =
      /rebuilt (.+) from (\d+) messages \((\d+) invalid, skipped\) up to sequence (\d+)/.exec(
        stdout,
      );
    assert.ok(rebuilt, stdout);
    assert.equal(rebuilt[1], file);
    assert.equal(Number(rebuilt[3]), 0);
    const checkpoints = before.checkpoints as { projector: string; position: number }[];
    assert.equal(
      Number(rebuilt[4]),
      checkpoints.find((c) => c.projector === 'read-models')?.position,
    );

    const afterReplay = dumpTables(file);
    assert.deepEqual(Object.keys(afterReplay), Object.keys(before));
    for (const table of Object.keys(before)) {
      assert.deepEqual(afterReplay[table], before[table], `table ${table}`);
    }
  });
});
