import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { hostname, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { eventually } from '@conform/bus';
import { generateClip } from '@conform/media';
import { conformBin, runConform, type ConformProcess, upArgs } from './run-conform.js';

// Every dashboard view in Debian's Chromium, and the terminal's `ls`, `--json` and
// `status --watch`, against one real `conform up`: a clip replaced, a corrupt file, and a long
// encode followed live. Screenshots go to .test-results/screenshots (not committed); axe-core
// checks each main view for WCAG 2 A/AA violations.

const TOKEN = 'dash-token';
const shots = resolve(import.meta.dirname, '../../../../.test-results/screenshots');
const axePath = join(dirname(createRequire(import.meta.url).resolve('axe-core')), 'axe.min.js');

let root: string;
let conform: ConformProcess;
let statusUrl: string;
let natsUrl: string;
let browser: Browser;
let page: Page;
let clip: string;
let clipId: string;

interface FileItem {
  fileId: string;
  path: string;
  status: string;
  archivePath: string | null;
}

async function files(): Promise<FileItem[]> {
  return (await (await fetch(`${statusUrl}/api/files?limit=1000`)).json()) as FileItem[];
}

/** Makes a clip outside the library, then moves it in whole (as a user's copy would end). */
async function drop(
  name: string,
  opts: Omit<Parameters<typeof generateClip>[0], 'path'>,
): Promise<string> {
  const staged = join(root, `staged-${name}`);
  await generateClip({ ...opts, path: staged });
  const path = join(root, 'library', name);
  await rename(staged, path);
  return path;
}

function conformOnce(
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [conformBin, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NATS_URL: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', fail);
    child.once('close', (code) => done({ code, stdout, stderr }));
  });
}

/** Runs axe-core in the page; fails listing each violation with its elements. */
async function assertAccessible(name: string): Promise<void> {
  await page.addScriptTag({ path: axePath });
  // A string, not a function: this package compiles without the DOM's types.
  const violations = await page.evaluate(`(async () => {
    const result = await axe.run({ runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] } });
    return result.violations.map((v) => ({
      id: v.id,
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(' ')).slice(0, 5),
    }));
  })()`);
  assert.deepEqual(violations, [], `${name}: ${JSON.stringify(violations, null, 2)}`);
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(shots, `dashboard-${name}.png`), fullPage: true });
}

async function show(hash: string, heading: string): Promise<void> {
  await page.goto(`${statusUrl}/${hash}`);
  await page.locator('h1', { hasText: heading }).waitFor();
  await page.locator('main[aria-busy="false"]').waitFor();
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'conform-dashboard-'));
  await mkdir(join(root, 'library'), { recursive: true });
  await mkdir(shots, { recursive: true });
  conform = runConform(upArgs(root), { CONFORM_CONTROL_TOKEN: TOKEN });
  statusUrl = String((await conform.waitForLog('status server listening')).url);
  natsUrl = String((await conform.waitForLog('embedded nats-server started')).url);
  clip = await drop('Clip.mkv', { durationSec: 1, videoCodec: 'h264' });
  await writeFile(join(root, 'library', 'Broken.mkv'), Buffer.alloc(64 * 1024, 7));
  const settled = await eventually(
    async () => {
      const all = await files();
      const done = all.find((f) => f.path === clip && f.status === 'compliant' && f.archivePath);
      const broken = all.find((f) => f.path.endsWith('Broken.mkv') && f.status === 'unreadable');
      return done && broken ? done : null;
    },
    { timeoutMs: 150_000, intervalMs: 500, what: 'Clip replaced and Broken found unreadable' },
  );
  clipId = settled.fileId;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (err) => {
    throw err;
  });
});

after(async () => {
  await browser?.close();
  conform?.kill();
  await rm(root, { recursive: true, force: true });
});

describe('the dashboard and the terminal on a real run', { timeout: 400_000 }, () => {
  it('overview: tiles, compliance, recent activity; reachable by keyboard', async () => {
    await show('', 'Overview');
    await page.locator('[data-tile="files"] .value', { hasText: '2' }).waitFor();
    assert.match(await page.locator('#compliance').innerText(), /library/);
    assert.match(await page.locator('#failures').innerText(), /Broken\.mkv/);
    assert.match(await page.locator('#events').innerText(), /Clip\.mkv/);
    await shot('overview');
    await assertAccessible('overview');
    // Keyboard only: Tab to the Files link, Enter; the view's heading takes the focus.
    await page.locator('body').focus();
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Tab');
      if ((await page.evaluate('document.activeElement?.textContent')) === 'Files') break;
    }
    await page.keyboard.press('Enter');
    await page.locator('h1', { hasText: 'Files' }).waitFor();
    await eventually(() => page.evaluate("document.activeElement?.tagName === 'H1'"));
    assert.match(new URL(page.url()).hash, /^#\/files/);
  });

  it('files: search by path, filter by status, counts over the API', async () => {
    await show('#/files', 'Files');
    await page.locator('#count', { hasText: 'of 2 files' }).waitFor();
    await page.fill('input[name="q"]', 'clip');
    await page.locator('#count', { hasText: '1–1 of 1 files' }).waitFor();
    assert.match(await page.locator('#files tbody').innerText(), /Clip\.mkv\s+compliant/);
    await page.fill('input[name="q"]', '');
    await page.selectOption('select[name="status"]', 'unreadable');
    await page.locator('#files tbody', { hasText: 'Broken.mkv' }).waitFor();
    assert.equal(await page.locator('#files tbody tr').count(), 1);
    assert.match(new URL(page.url()).hash, /status=unreadable/);
    await shot('files');
    await assertAccessible('files');
  });

  it('file: before and after, plan with reasons and policy, checks, the audit’s timeline', async () => {
    await show(`#/file/${clipId}`, 'Clip.mkv');
    const before = await page.locator('section[aria-labelledby="before-h"]').innerText();
    const afterText = await page.locator('section[aria-labelledby="after-h"]').innerText();
    assert.match(before, /h264/);
    assert.match(afterText, /hevc/);
    // The current plan judged the replacement; the plan that caused the encode names h264.
    assert.match(await page.locator('#reasons').innerText(), /hevc/);
    assert.match(await page.locator('#encode-reasons').innerText(), /h264/);
    assert.match(await page.locator('main').innerText(), /Policy version\s+[0-9a-f]{8,}/);
    const checks = await page.locator('#checks tbody tr').allInnerTexts();
    assert.ok(checks.length >= 3, checks.join('\n'));
    for (const row of checks) {
      const [name, result, measured, limit] = row.split('\t').map((c) => c.trim());
      assert.equal(result, 'passed', `${name} passed`);
      assert.ok(measured && limit, `${name} shows measured value and limit: ${row}`);
    }
    // The timeline is the history `conform audit` prints: the same events in the same order.
    const audit = await conformOnce(['audit', clip, '--nats', natsUrl, '--json']);
    assert.equal(audit.code, 0, audit.stderr);
    const history = JSON.parse(audit.stdout) as {
      fileId: string;
      events: { sequence: number; event: { type: string } }[];
    };
    assert.equal(history.fileId, clipId);
    const rows = await page
      .locator('#timeline tbody tr')
      .evaluateAll((trs) =>
        trs.map((tr) => [Number(tr.children[0]!.textContent), tr.children[2]!.textContent]),
      );
    assert.deepEqual(
      rows,
      history.events.map((e) => [e.sequence, e.event.type]),
    );
    assert.ok(rows.some(([, type]) => type === 'file.replaced'));
    await shot('file');
    await assertAccessible('file');
  });

  it('queue: live progress with fps, ETA and node; pause and resume with the reason; watch in the terminal', async () => {
    const watch = spawn(
      process.execPath,
      [conformBin, 'status', '--watch', '--interval', '300', '--url', statusUrl],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let watched = '';
    watch.stdout.on('data', (d: Buffer) => (watched += d.toString()));
    const watchExit = new Promise<number | null>((r) => watch.once('exit', (code) => r(code)));
    try {
      await show('#/queue', 'Queue');
      await page.fill('#token', TOKEN);
      const long = await drop('Long.mkv', {
        durationSec: 40,
        width: 640,
        height: 360,
        videoCodec: 'h264',
      });
      const row = page.locator('#now tr', { hasText: 'Long.mkv' });
      await row.waitFor({ timeout: 60_000 });
      // Progress from the encoder's ephemeral messages: a node name, a rate and an ETA.
      await eventually(
        async () => {
          const text = await row.innerText();
          const value = Number(await row.locator('progress').getAttribute('value'));
          return value > 0 && text.includes(`encoder@${hostname()}`) && /\d+\.\d/.test(text);
        },
        { timeoutMs: 60_000, what: 'live progress of Long.mkv with node and fps' },
      );
      await shot('queue-encoding');
      await assertAccessible('queue');
      await page.click('#do-pause');
      await page.locator('#pause-result', { hasText: 'Pause requested' }).waitFor();
      await page.locator('#pause', { hasText: 'Paused' }).waitFor({ timeout: 30_000 });
      assert.match(await page.locator('#pause').innerText(), /manual/);
      await page.click('#do-resume');
      await page.locator('#pause', { hasText: 'Running' }).waitFor({ timeout: 30_000 });
      // The terminal watch drew the running encode's bar more than once.
      await eventually(() => (watched.match(/Long\.mkv/g) ?? []).length >= 2, {
        what: `status --watch to redraw Long.mkv's bar: ${watched.slice(-500)}`,
      });
      assert.match(watched, /files \d+ {3}compliance/);
      assert.match(watched, /\d+% .*fps .*ETA .*Long\.mkv \(libx265 on encoder@/);
      watch.kill('SIGINT');
      assert.equal(await watchExit, 0, 'Ctrl-C ends the watch cleanly');
      await eventually(
        async () => (await files()).find((f) => f.path === long && f.status === 'compliant'),
        {
          timeoutMs: 180_000,
          intervalMs: 1_000,
          what: 'Long.mkv replaced',
        },
      );
      await page.locator('#recent', { hasText: 'Long.mkv' }).waitFor({ timeout: 10_000 });
    } finally {
      if (watch.exitCode === null) watch.kill('SIGKILL');
    }
  });

  it('nodes: the encoder node with its devices and slots', async () => {
    await show('#/nodes', 'Nodes');
    const row = page.locator(`#nodes tr[data-node="encoder@${hostname()}"]`);
    await row.waitFor();
    assert.match(await row.innerText(), /working/);
    assert.match(await row.innerText(), /cpu: [01]\/1 libx265/);
    await shot('nodes');
    await assertAccessible('nodes');
  });

  it('statistics: five charts from the bundled chart library, with their tables', async () => {
    await show('#/stats', 'Statistics');
    await page.locator('main[data-charts="5"]').waitFor();
    assert.equal(await page.locator('canvas').count(), 5);
    const res = await fetch(`${statusUrl}/assets/vendor/chart.umd.min.js`);
    assert.equal(res.status, 200, 'Chart.js is served by the status server itself');
    await page.locator('details summary', { hasText: 'Bytes saved per library' }).click();
    assert.match(await page.locator('main').innerText(), new RegExp(`${join(root, 'library')}`));
    await shot('stats');
    await assertAccessible('stats');
  });

  it('dry run: what the policy would do, with the estimated saving', async () => {
    await show('#/dry-run', 'Dry run');
    await page.locator('#dry tbody tr', { hasText: 'Clip.mkv' }).waitFor();
    assert.match(await page.locator('#dry').innerText(), /compliant/);
    const report = await conformOnce(['plan', '--dry-run', '--json', '--nats', natsUrl]);
    assert.equal(report.code, 0, report.stderr);
    const rows = (JSON.parse(report.stdout) as { files: unknown[] }).files.length;
    assert.equal(await page.locator('#dry tbody tr').count(), rows, 'the same files as the CLI');
    await shot('dry-run');
    await assertAccessible('dry-run');
  });

  it('file actions: restore needs the token, then the original is back', async () => {
    await show(`#/file/${clipId}`, 'Clip.mkv');
    await page.fill('#token', '');
    await page.click('#restore');
    await page.locator('#action', { hasText: 'Refused (401)' }).waitFor();
    await page.fill('#token', TOKEN);
    await page.click('#restore');
    await page.locator('#action', { hasText: 'Restore requested' }).waitFor();
    await page.locator('dd .status', { hasText: /restored|skipped/ }).waitFor({ timeout: 60_000 });
    await show('#/files?status=unreadable', 'Files');
    await page.locator('#files tbody a', { hasText: 'Broken.mkv' }).click();
    await page.locator('h1', { hasText: 'Broken.mkv' }).waitFor();
    await page.click('#retry');
    await page.locator('#action', { hasText: 'Retry requested' }).waitFor();
  });

  it('phone width and dark mode: no sideways scrolling, still accessible', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await show('#/files', 'Files');
    await page.locator('#files tbody tr').first().waitFor();
    const overflow = Number(
      await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'),
    );
    assert.ok(overflow <= 1, `the page is ${overflow}px wider than the phone`);
    await shot('phone-files');
    await page.emulateMedia({ colorScheme: 'dark' });
    await show('', 'Overview');
    const bg = await page.evaluate('getComputedStyle(document.body).backgroundColor');
    assert.equal(bg, 'rgb(22, 24, 28)', 'dark background');
    await shot('phone-overview-dark');
    await assertAccessible('overview, dark, phone');
  });

  it('conform ls lists files like the Files view; --json on read commands', async () => {
    const ls = await conformOnce(['ls', '--url', statusUrl, '--status', 'unreadable']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /^unreadable\s+.*Broken\.mkv$/m);
    assert.match(ls.stdout, /^1-1 of 1 files$/m);
    const json = await conformOnce([
      'ls',
      '--url',
      statusUrl,
      '--json',
      '--sort',
      'size',
      '--desc',
    ]);
    const listed = JSON.parse(json.stdout) as { total: number; files: FileItem[] };
    assert.equal(listed.total, 3);
    assert.deepEqual(
      listed.files.map((f) => f.path).sort(),
      (await files()).map((f) => f.path).sort(),
    );
    const status = await conformOnce(['status', '--url', statusUrl, '--json']);
    assert.equal((JSON.parse(status.stdout) as { total: number }).total, 3);
    const version = await conformOnce(['--version']);
    assert.equal(version.stdout.trim(), '0.1.0');
  });
});
