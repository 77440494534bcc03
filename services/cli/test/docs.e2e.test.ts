import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { eventually } from '@conform/bus';
import { generateClip } from '@conform/media';
import {
  conformCalls,
  guideCommands,
  helpCommands,
  helpOptions,
  shellWords,
  type GuideCommand,
} from './guide-commands.js';
import { conformBin, runConform, sha256, type ConformProcess } from './run-conform.js';

// The guides cannot rot: every command docs/user/01 and 03 tell a user to type is extracted
// from their ```sh blocks and run against a real `conform up` (its own state dir, port and a
// library of generated clips), compose commands are the ones deploy/smoke.sh runs, and every
// `conform` subcommand and flag any guide mentions is in the real --help.

const repo = resolve(import.meta.dirname, '../../../..');
const guides = ['01_getting_started.md', '03_operations.md'];
const allGuides = [...guides, '02_configuration.md', '04_troubleshooting.md', '05_faq.md'];
const run = promisify(execFile);

async function help(command: string[]): Promise<string> {
  return (await run(process.execPath, [conformBin, ...command, '--help'])).stdout;
}

async function commands(): Promise<GuideCommand[]> {
  const all = await Promise.all(
    guides.map(async (g) => guideCommands(await readFile(join(repo, 'docs/user', g), 'utf8'), g)),
  );
  return all.flat();
}

/** The services docker-compose.yml defines (two-space keys under `services:`). */
async function composeServices(): Promise<Set<string>> {
  const text = await readFile(join(repo, 'docker-compose.yml'), 'utf8');
  const section = text.split(/^services:$/m)[1]!.split(/^\S/m)[0]!;
  return new Set([...section.matchAll(/^ {2}([a-z][\w-]*):/gm)].map((m) => m[1]!));
}

const where = (c: GuideCommand) => `${c.guide}:${c.line}: ${c.text}`;

describe('the guides name only what conform has', () => {
  it('every conform subcommand and flag in the guides is in conform --help', async () => {
    const top = await help([]);
    const subcommands = helpCommands(top);
    const groups = new Set(['config']);
    assert.ok(subcommands.has('up') && subcommands.has('audit'), top);
    const mentions: Array<{ where: string; words: string[] }> = [];
    for (const c of await commands()) mentions.push({ where: where(c), words: shellWords(c.text) });
    // Inline code in every guide too: `conform status --watch`.
    for (const g of allGuides) {
      const text = await readFile(join(repo, 'docs/user', g), 'utf8');
      for (const m of text.matchAll(/`(conform [^`]+)`/g)) {
        mentions.push({ where: `${g}: ${m[1]}`, words: shellWords(m[1]!.replace(/[[\]]/g, ' ')) });
      }
    }
    const helps = new Map<string, Set<string>>();
    let checked = 0;
    for (const { where: at, words } of mentions) {
      // A word after `conform` that looks like a subcommand must be one.
      for (const [i, w] of words.entries()) {
        const next = words[i + 1];
        if (w === 'conform' && next && /^[a-z]+$/.test(next) && next !== 'conform') {
          assert.ok(subcommands.has(next), `${at}: conform has no subcommand "${next}"`);
        }
      }
      for (const call of conformCalls(words, subcommands, groups)) {
        const key = call.command.join(' ');
        if (!helps.has(key)) helps.set(key, helpOptions(await help(call.command)));
        const options = helps.get(key)!;
        if (call.command[0] && groups.has(call.command[0])) {
          const sub = call.command[1];
          assert.ok(
            sub && helpCommands(await help([call.command[0]])).has(sub),
            `${at}: no "${key}"`,
          );
        }
        for (const flag of call.flags) {
          assert.ok(
            options.has(flag),
            `${at}: conform ${key} has no option ${flag} (has ${[...options].join(' ')})`,
          );
          checked++;
        }
      }
    }
    assert.ok(checked >= 10, `only ${checked} flags found: is the extraction broken?`);
  });

  it('every command the guides show is classified, and compose commands are run by deploy/smoke.sh', async () => {
    const smoke = await readFile(join(repo, 'deploy/smoke.sh'), 'utf8');
    // The smoke test drives compose as `run_compose ARGS` (its project, env file and compose
    // file); it builds the image itself, so its `up -d` is `up -d --no-build`.
    const smokeRuns = new Set(
      [...smoke.matchAll(/^run_compose ((?:[\w./=-]+ ?)+)/gm)].map((m) =>
        m[1]!
          .replace(/ --no-build\b/, '')
          .trim()
          .replace(/\s+/g, ' '),
      ),
    );
    const all = await commands();
    const compose = all.filter((c) => c.mode === 'compose');
    assert.ok(compose.length >= 3, 'the guides start the stack through compose');
    for (const c of compose) {
      const m = /^docker compose (.+)$/.exec(c.text);
      assert.ok(m, `${where(c)}: under "# via compose" only docker compose commands`);
      assert.ok(
        smokeRuns.has(m[1]!.trim()),
        `${where(c)}: deploy/smoke.sh does not run "run_compose ${m[1]}"`,
      );
    }
    const services = await composeServices();
    assert.ok(services.has('archiver') && services.has('encoder-gpu'), [...services].join(' '));
    for (const c of all) {
      const exec = /^docker compose exec ([a-z-]+) /.exec(c.text);
      if (exec)
        assert.ok(
          services.has(exec[1]!),
          `${where(c)}: docker-compose.yml has no service ${exec[1]}`,
        );
    }
    for (const c of all.filter((c) => c.mode === 'run')) {
      assert.match(
        c.text,
        /^(docker compose exec [a-z-]+ )?conform |^curl /,
        `${where(c)}: a command the test cannot run needs "# via compose" or "# on the host" before it`,
      );
    }
  });
});

async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

function conformOnce(args: string[], env: NodeJS.ProcessEnv, watchMs?: number) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((done, reject) => {
    const child = spawn(process.execPath, [conformBin, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    // A command that runs until Ctrl-C (status --watch) gets its Ctrl-C.
    const timer = watchMs ? setTimeout(() => child.kill('SIGINT'), watchMs) : undefined;
    child.once('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

describe('the commands of 01 and 03 against a real conform up', { timeout: 170_000 }, () => {
  let root: string;
  let conform: ConformProcess;
  let statusUrl: string;
  let natsUrl: string;
  let config: string;
  const film = () => join(root, 'library/Movies/My Film (2020).mp4');
  const episode = () => join(root, 'library/TV/Show S01E01.mkv');
  let filmSha: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'conform-docs-'));
    for (const d of ['library/Movies', 'library/TV', 'archive/Movies', 'archive/TV']) {
      await mkdir(join(root, d), { recursive: true });
    }
    // Two libraries under the guides' /media/library: Movies is the happy path; TV holds a
    // truncated episode whose health check is off, so its encode comes out short and fails
    // verification: something to retry.
    config = join(root, 'quality.yaml');
    await writeFile(
      config,
      [
        'version: 1',
        'defaults:',
        '  guardrails: { minSavingPercent: 0, minFreeDiskGB: 0 }',
        'libraries:',
        `  - { name: movies, root: ${join(root, 'library/Movies')}, archive: ${join(root, 'archive/Movies')} }`,
        `  - name: tv`,
        `    root: ${join(root, 'library/TV')}`,
        `    archive: ${join(root, 'archive/TV')}`,
        '    policy: { health: { check: off } }',
        '',
      ].join('\n'),
    );
    const port = await unusedPort();
    conform = runConform([
      'up',
      '--config',
      config,
      '--state-dir',
      join(root, 'state'),
      '--port',
      String(port),
      '--stability-window',
      '500',
      '--encoder',
      'libx265',
    ]);
    statusUrl = String((await conform.waitForLog('status server listening', 60_000)).url);
    natsUrl = String((await conform.waitForLog('embedded nats-server started')).url);
    const clip = (path: string) =>
      generateClip({
        path,
        durationSec: 2,
        width: 320,
        height: 240,
        videoCodec: 'h264',
        audioTracks: 1,
      });
    await clip(join(root, 'film.mp4'));
    filmSha = await sha256(join(root, 'film.mp4'));
    await clip(join(root, 'episode.mkv'));
    await truncate(
      join(root, 'episode.mkv'),
      Math.floor((await stat(join(root, 'episode.mkv'))).size / 2),
    );
    await rename(join(root, 'film.mp4'), film());
    await rename(join(root, 'episode.mkv'), episode());
    const statusOf = async (path: string) => {
      const files = (await (await fetch(`${statusUrl}/api/files?limit=100`)).json()) as Array<{
        path: string;
        status: string;
      }>;
      return files.find((f) => f.path === path)?.status;
    };
    await eventually(
      async () => ['replaced', 'compliant'].includes((await statusOf(film())) ?? ''),
      {
        timeoutMs: 90_000,
        intervalMs: 500,
        what: 'the film replaced',
      },
    );
    await eventually(
      async () => ['failed', 'dead-lettered'].includes((await statusOf(episode())) ?? ''),
      {
        timeoutMs: 60_000,
        intervalMs: 500,
        what: `the truncated episode failed (status ${await statusOf(episode())})`,
      },
    );
  });

  after(async () => {
    conform?.kill();
    if (root) await rm(root, { recursive: true, force: true });
  });

  // What each command's output must show, beyond exiting 0 (its first words after conform).
  const expect: Record<string, (out: string) => void> = {
    status: (out) => assert.match(out, /^files 2 /m),
    'ls --status failed --json': (out) => assert.ok(out.includes('Show S01E01.mkv'), out),
    'ls --status queued': (out) => assert.ok(!out.includes('My Film'), out),
    'ls --status dead-lettered': (out) => assert.ok(!out.includes('My Film'), out),
    ls: (out) =>
      assert.ok(out.includes('My Film (2020).mp4') && out.includes('Show S01E01.mkv'), out),
    audit: (out) =>
      assert.match(
        out,
        /file\.discovered[\s\S]*file\.planned[\s\S]*(file\.replaced|verify\.failed)/,
      ),
    pause: (out) => assert.match(out, /^pause requested; conform resume undoes it$/m),
    'pause --now': (out) =>
      assert.match(out, /pause requested \(running encodes return to the queue\)/),
    resume: (out) => assert.match(out, /^resume requested$/m),
    restore: (out) =>
      assert.match(out, /^restored .*My Film \(2020\)\.mp4; the replacement is archived at /m),
    retry: (out) => assert.match(out, /retry requested for .*Show S01E01\.mkv/),
    replay: (out) => assert.match(out, /rebuilt .* from \d+ messages/),
    doctor: (out) => assert.match(out, /libx265/),
    plan: (out) => assert.ok(out.length > 0),
  };

  it('runs every conform command of 01 and 03 in order, each exiting 0 with what the guide says', async () => {
    const env = {
      NATS_URL: natsUrl,
      CONFORM_STATE_DIR: join(root, 'state'),
      CONFORM_PORT: new URL(statusUrl).port,
    };
    let ran = 0;
    for (const c of (await commands()).filter((c) => c.mode === 'run')) {
      const words = shellWords(c.text).map((w) =>
        w
          .replace(/^\/media\/library/, join(root, 'library'))
          .replace(/^\/media\/archive/, join(root, 'archive'))
          .replace(/^\/config\/quality\.yaml$/, config),
      );
      if (words[0] === 'curl') {
        const url = words
          .find((w) => w.startsWith('http'))!
          .replace(/^http:\/\/127\.0\.0\.1:8484/, statusUrl);
        const res = await fetch(url);
        assert.equal(res.status, 200, `${where(c)}: ${await res.text()}`);
        ran++;
        continue;
      }
      const args = words.slice(words.indexOf('conform') + 1);
      if (['status', 'ls'].includes(args[0]!) && !args.includes('--url'))
        args.push('--url', statusUrl);
      const watch = args.includes('--watch') ? 3_000 : undefined;
      const { code, stdout, stderr } = await conformOnce(args, env, watch);
      if (watch) {
        assert.match(stdout, /files 2 /, `${where(c)}: --watch drew nothing`);
      } else {
        assert.equal(code, 0, `${where(c)} exited ${code}: ${stderr}${stdout}`);
      }
      // The whole command line, else its subcommand (audit, retry, restore take a path).
      const line = words.slice(words.indexOf('conform') + 1).join(' ');
      const check = expect[line] ?? expect[args[0]!];
      if (check) check(stdout);
      if (args[0] === 'restore') {
        // The original is back at its path, byte for byte.
        await eventually(async () => (await sha256(film()).catch(() => '')) === filmSha, {
          timeoutMs: 30_000,
          what: 'the original restored',
        });
      }
      ran++;
    }
    assert.ok(ran >= 15, `only ${ran} commands ran`);
  });
});
