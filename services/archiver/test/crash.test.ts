// Invariant 1 under real process death: a child process runs the swap step by step and
// SIGKILLs itself at each point; the real archiver service then finishes the job.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { subjectFor, type EncodeTarget } from '@conform/contracts';
import {
  EVENT_LOG_STREAM,
  eventually,
  lastEventOf,
  type TestBus,
  type EventPublisher,
} from '@conform/bus';
import { PARTIAL_SUFFIX, type ArchiverLibrary } from '../src/index.js';
import type { CrashChildArgs, CrashChildReport, KillPoint } from './crash-child.js';
import {
  bytesAt,
  makeSwap,
  ORIGINAL,
  OUTPUT,
  type SwapFixture,
  startArchiverUnderTest,
  type ArchiverUnderTest,
} from './fixtures.js';

const CHILD = fileURLToPath(new URL('./crash-child.js', import.meta.url));

let t: TestBus;
let publisher: EventPublisher;
let under: ArchiverUnderTest;
let base: string;
let shmBase: string;
let libraries: ArchiverLibrary[];

/**
 * A folder on a filesystem other than the temp dir's, so that link() answers a real EXDEV.
 * Fails rather than skips: without it the copy path would silently go untested.
 */
async function otherFilesystem(): Promise<string> {
  if (!existsSync('/dev/shm')) {
    throw new Error('this test needs /dev/shm on another filesystem than ' + tmpdir());
  }
  const dir = await mkdtemp('/dev/shm/conform-crash-');
  const [a, b, fa, fb] = await Promise.all([
    stat(dir),
    stat(tmpdir()),
    statfs(dir),
    statfs(tmpdir()),
  ]);
  if (a.dev === b.dev) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(
      `/dev/shm and ${tmpdir()} are one filesystem (statfs type ${fa.type} / ${fb.type}); ` +
        'the cross-filesystem crash test needs two',
    );
  }
  return dir;
}

before(async () => {
  base = await mkdtemp(join(tmpdir(), 'conform-crash-'));
  shmBase = await otherFilesystem();
  libraries = [
    { root: join(base, 'library'), archive: join(base, 'archive') },
    { root: join(base, 'library-x'), archive: join(shmBase, 'archive-x') },
  ];
  await Promise.all(libraries.map((l) => mkdir(l.root)));
  under = await startArchiverUnderTest('archiver-crash-test', libraries);
  ({ t, publisher } = under);
});
after(async () => {
  await under?.stop();
  await rm(base, { recursive: true, force: true });
  if (shmBase) await rm(shmBase, { recursive: true, force: true });
});

interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  report: CrashChildReport | null;
  stderr: string;
}

function runChild(f: SwapFixture, lib: ArchiverLibrary, kill: KillPoint): Promise<ChildExit> {
  const args: CrashChildArgs = { event: f.event, libraries: [lib], kill };
  return new Promise((resolve) => {
    execFile(process.execPath, [CHILD, JSON.stringify(args)], (err, stdout, stderr) => {
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      resolve({
        code: err ? ((err as { code?: number }).code ?? null) : 0,
        signal: err ? ((err as { signal?: NodeJS.Signals }).signal ?? null) : null,
        report: line ? (JSON.parse(line) as CrashChildReport) : null,
        stderr,
      });
    });
  });
}

function sha256(b: Buffer | null): string | null {
  return b && createHash('sha256').update(b).digest('hex');
}

/** Every file under `dir`, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => !e.isDirectory())
    .map((e) => relative(dir, join(e.parentPath ?? e.path, e.name)))
    .sort();
}

/** Invariant 1 after a kill: original or verified output in place, nothing partial. */
async function assertInvariant(f: SwapFixture, original: Buffer, when: string): Promise<void> {
  const atPath = await bytesAt(f.path);
  const atFinal = f.finalPath === f.path ? atPath : await bytesAt(f.finalPath);
  const archived = await bytesAt(f.archivePath);
  const originalHere = atPath !== null && atPath.equals(original);
  const outputHere = atFinal !== null && atFinal.equals(OUTPUT);
  assert.ok(originalHere || outputHere, `${when}: neither the original nor the output is there`);
  if (atPath !== null) {
    assert.ok(originalHere || atPath.equals(OUTPUT), `${when}: partial file at ${f.path}`);
  }
  if (atFinal !== null) {
    assert.ok(outputHere || atFinal.equals(original), `${when}: partial file at ${f.finalPath}`);
  }
  assert.ok(
    archived === null || sha256(archived) === sha256(original),
    `${when}: the archive path holds a partial or different file`,
  );
  if (!originalHere) {
    assert.equal(sha256(archived), sha256(original), `${when}: original gone, not archived`);
  }
}

/** The count of `type` events recorded for one file. */
async function countOf(type: 'file.replaced' | 'replace.failed', fileId: string): Promise<number> {
  const subject = subjectFor(type, fileId);
  const info = await t.bus.jsm.streams.info(EVENT_LOG_STREAM, { subjects_filter: subject });
  return info.state.subjects?.[subject] ?? 0;
}

/** "Restarts": hands the same verify.passed to the running archiver and checks the end state. */
async function assertRestartCompletes(
  f: SwapFixture,
  lib: ArchiverLibrary,
  original: Buffer,
  when: string,
): Promise<void> {
  await publisher.publish(f.event);
  const fileId = f.event.fileId;
  const answer = await eventually(
    async () =>
      (await lastEventOf(t.bus, 'file.replaced', fileId)) ??
      (await lastEventOf(t.bus, 'replace.failed', fileId)),
    { timeoutMs: 30_000, what: `the archiver's answer ${when}` },
  );
  assert.equal(answer.event.type, 'file.replaced', `${when}: ${JSON.stringify(answer.event.data)}`);
  assert.equal(await countOf('file.replaced', fileId), 1, `${when}: one file.replaced`);
  assert.equal(await countOf('replace.failed', fileId), 0, `${when}: no replace.failed`);
  assert.deepEqual(await bytesAt(f.finalPath), OUTPUT, `${when}: output at the final path`);
  assert.equal(
    sha256(await bytesAt(f.archivePath)),
    sha256(original),
    `${when}: archive byte-identical`,
  );
  const caseDir = relative(lib.root, join(f.path, '..'));
  assert.deepEqual(
    await filesUnder(join(lib.root, caseDir)),
    [relative(join(lib.root, caseDir), f.finalPath)],
    `${when}: only the new file in the library folder`,
  );
  assert.deepEqual(
    await filesUnder(join(lib.archive, caseDir)),
    [relative(join(lib.archive, caseDir), f.archivePath)],
    `${when}: only the original in the archive folder (no ${PARTIAL_SUFFIX})`,
  );
  assert.equal(await bytesAt(f.outputPath), null, `${when}: output left the work folder`);
}

const cases: {
  name: string;
  lib: 0 | 1;
  fileName: string;
  container: EncodeTarget['container'];
}[] = [
  { name: 'same filesystem', lib: 0, fileName: 'Film.mkv', container: 'mkv' },
  { name: 'same filesystem, extension change', lib: 0, fileName: 'Film.avi', container: 'mkv' },
  { name: 'archive on another filesystem', lib: 1, fileName: 'Film.mkv', container: 'mkv' },
  {
    name: 'archive on another filesystem, extension change',
    lib: 1,
    fileName: 'Film.avi',
    container: 'mp4',
  },
];

describe('swap killed by SIGKILL, then finished by the archiver', () => {
  for (const c of cases) {
    const slug = c.name.replaceAll(/[^a-z]+/g, '-');
    const killAndRestart = async (label: string, kill: KillPoint, original = ORIGINAL) => {
      const lib = libraries[c.lib]!;
      const f = await makeSwap({
        library: lib.root,
        archive: lib.archive,
        relativePath: join(`${slug}-${label}`, c.fileName),
        container: c.container,
      });
      if (original !== ORIGINAL) await writeFile(f.path, original);
      const s = await stat(f.path);
      f.event.data.source = { size: s.size, mtimeMs: s.mtimeMs };
      const exit = await runChild(f, lib, kill);
      const when = `${c.name}, killed ${label}`;
      await assertInvariant(f, original, when);
      await assertRestartCompletes(f, lib, original, when);
      return { exit, when };
    };

    it(`after every step (${c.name})`, async () => {
      let steps: string[] | null = null;
      for (let n = 0; steps === null || n <= steps.length; n++) {
        const { exit, when } = await killAndRestart(`after-step-${n}`, { afterStep: n });
        assert.equal(exit.signal, 'SIGKILL', `${when}: ${exit.stderr}`);
        steps ??= exit.report?.steps ?? [];
      }
      const expected = ['archive-original', 'install-output'];
      if (c.fileName.slice(-3) !== c.container) expected.push('remove-original');
      assert.deepEqual(steps, expected);
    });

    it(`before every filesystem change inside a step (${c.name})`, async () => {
      let killed = 0;
      for (let n = 1; ; n++) {
        assert.ok(n < 50, 'the swap should finish within 50 filesystem changes');
        const { exit, when } = await killAndRestart(`before-call-${n}`, { beforeCall: n });
        if (exit.signal === null) {
          assert.equal(exit.code, 0, `${when}: ${exit.stderr}`);
          break;
        }
        assert.equal(exit.signal, 'SIGKILL', `${when}: ${exit.stderr}`);
        killed++;
      }
      // mkdir, link, rename; across filesystems also the failed link's copy, utimes, rename.
      assert.ok(killed >= (c.lib === 1 ? 6 : 3), `only ${killed} kill points were reached`);
    });

    if (c.lib === 1) {
      it(`in the middle of the copy into the archive (${c.name})`, async () => {
        // Large enough that the copy is still running when the child looks at the partial.
        const big = Buffer.alloc(48 * 1024 ** 2);
        for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i);
        const { exit, when } = await killAndRestart('mid-copy', { midCopy: true }, big);
        assert.equal(exit.signal, 'SIGKILL', `${when}: ${exit.stderr}`);
      });
    }
  }
});
