import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { conformBin } from './run-conform.js';

// Release 0.1.0's tooling: one version (the root package.json) everywhere, bumped by
// scripts/version.mjs, printed by `conform --version`, and scripts/release.sh's plan.

const repo = resolve(import.meta.dirname, '../../../..');
const run = promisify(execFile);
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conform-release-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rootVersion(): Promise<string> {
  return (JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')) as { version: string })
    .version;
}

describe('the release version', () => {
  it('every workspace has the root version, and conform --version prints it', async () => {
    await run(process.execPath, [join(repo, 'scripts/version.mjs'), '--check']);
    const { stdout } = await run(process.execPath, [conformBin, '--version']);
    assert.equal(stdout.trim(), await rootVersion());
  });

  it('CHANGELOG.md has a Keep a Changelog section for it', async () => {
    const changelog = await readFile(join(repo, 'CHANGELOG.md'), 'utf8');
    const version = await rootVersion();
    assert.match(changelog, /^## \[Unreleased\]$/m);
    assert.match(
      changelog,
      new RegExp(`^## \\[${version.replace(/\./g, '\\.')}\\] - \\d{4}-\\d{2}-\\d{2}$`, 'm'),
    );
    assert.match(
      changelog,
      new RegExp(`^\\[${version.replace(/\./g, '\\.')}\\]: \\S+v${version}$`, 'm'),
    );
  });

  it('version.mjs sets every manifest and moves the Unreleased notes under the new version', async () => {
    const root = join(dir, 'bump');
    await mkdir(join(root, 'scripts'), { recursive: true });
    await mkdir(join(root, 'pkg'), { recursive: true });
    await copyFile(join(repo, 'scripts/version.mjs'), join(root, 'scripts/version.mjs'));
    const manifest = (name: string, extra = {}) =>
      `${JSON.stringify({ name, version: '0.1.0', ...extra }, null, 2)}\n`;
    await writeFile(join(root, 'package.json'), manifest('root', { workspaces: ['pkg'] }));
    await writeFile(join(root, 'pkg/package.json'), manifest('pkg'));
    await mkdir(join(root, 'deploy'));
    await writeFile(
      join(root, 'deploy/Dockerfile'),
      'FROM x\nARG VERSION=0.1.0\nLABEL v=${VERSION}\n',
    );
    await writeFile(
      join(root, 'CHANGELOG.md'),
      '# Changelog\n\n## [Unreleased]\n\n### Fixed\n\n- a thing\n\n## [0.1.0] - 2026-12-01\n\n- first\n\n' +
        '[Unreleased]: https://example.org/r/compare/v0.1.0...HEAD\n[0.1.0]: https://example.org/r/releases/tag/v0.1.0\n',
    );
    const script = join(root, 'scripts/version.mjs');

    // A workspace out of step is caught.
    await writeFile(join(root, 'pkg/package.json'), manifest('pkg').replace('0.1.0', '0.0.9'));
    await assert.rejects(
      run(process.execPath, [script, '--check']),
      /pkg\/package\.json: version 0\.0\.9/,
    );
    await writeFile(join(root, 'pkg/package.json'), manifest('pkg'));

    const dry = await run(process.execPath, [script, '0.2.0', '--dry-run']);
    assert.match(dry.stdout, /would set pkg\/package\.json to 0\.2\.0/);
    assert.match(await readFile(join(root, 'pkg/package.json'), 'utf8'), /"version": "0\.1\.0"/);

    await run(process.execPath, [script, '0.2.0']);
    for (const m of ['package.json', 'pkg/package.json']) {
      assert.equal(
        (JSON.parse(await readFile(join(root, m), 'utf8')) as { version: string }).version,
        '0.2.0',
        m,
      );
    }
    const changelog = await readFile(join(root, 'CHANGELOG.md'), 'utf8');
    assert.match(
      changelog,
      /## \[Unreleased\]\n\n## \[0\.2\.0\] - \d{4}-\d{2}-\d{2}\n\n### Fixed\n\n- a thing\n\n## \[0\.1\.0\]/,
    );
    assert.match(
      changelog,
      /^\[Unreleased\]: https:\/\/example\.org\/r\/compare\/v0\.2\.0\.\.\.HEAD$/m,
    );
    assert.match(changelog, /^\[0\.2\.0\]: https:\/\/example\.org\/r\/releases\/tag\/v0\.2\.0$/m);
    // Nothing left to release: a second bump is refused.
    await assert.rejects(run(process.execPath, [script, '0.2.1']), /nothing under Unreleased/);
  });
});

describe('scripts/release.sh --dry-run', () => {
  it('plans the conform:<version> image build and prints the changelog section as the notes, building nothing', async () => {
    const version = await rootVersion();
    const notesDir = join(dir, 'notes');
    const { stdout } = await run('bash', [join(repo, 'scripts/release.sh'), '--dry-run'], {
      env: { ...process.env, RELEASE_DIR: notesDir },
    });
    assert.match(
      stdout,
      new RegExp(
        `^would build: (docker|podman) build -f deploy/Dockerfile -t conform:${version} `,
        'm',
      ),
    );
    assert.match(stdout, new RegExp(`--build-arg VERSION=${version}`));
    assert.match(stdout, new RegExp(`would write: ${notesDir}/conform-${version}\\.md`));
    const notes = stdout.split('--- release notes ---\n')[1] ?? '';
    assert.match(notes, new RegExp(`^# conform ${version}\n`));
    assert.match(notes, /### Added/);
    assert.doesNotMatch(notes, /## \[Unreleased\]|^\[0\.1\.0\]:/m, 'only this version’s section');
    assert.deepEqual(await readdir(notesDir).catch(() => []), [], 'a dry run writes nothing');
  });

  it('refuses an unknown flag', async () => {
    await assert.rejects(
      run('bash', [join(repo, 'scripts/release.sh'), '--tag']),
      /usage: bash scripts\/release\.sh/,
    );
  });
});
