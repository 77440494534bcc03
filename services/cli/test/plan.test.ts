import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  fileIdFor,
  type FilePlannedData,
  type FileProbedData,
  type MediaSummary,
} from '@conform/contracts';
import {
  EVENT_LOG_STREAM,
  EventPublisher,
  provisionEventLog,
  startTestBus,
  type TestBus,
} from '@conform/bus';
import { DEFAULT_POLICY, planDiscovery } from '@conform/planner';
import { loadQualityConfig } from '@conform/config';
import { runConform } from './run-conform.js';
import type { DryRunReport } from '@conform/contracts';

// `conform config validate` and `conform plan --dry-run` as a user runs them: the real binary,
// a real nats-server holding events, real files.

let dir: string;
let t: TestBus;
const library = '/media/plan-test';

async function run(args: string[]) {
  const p = runConform(args);
  const code = await p.exited;
  const out: string[] = [];
  for (const l of p.logs)
    out.push(typeof l.msg === 'string' && Object.keys(l).length === 1 ? l.msg : JSON.stringify(l));
  return { code, stdout: out.join('\n'), stderr: p.stderr() };
}

const h264: MediaSummary = {
  container: 'matroska,webm',
  durationSec: 600,
  bitRate: 8_000_000,
  video: { codec: 'h264', width: 1920, height: 1080, pixFmt: 'yuv420p', colorTransfer: null },
  audioStreams: 1,
  subtitleStreams: 0,
  streams: [{ index: 1, kind: 'audio', codec: 'aac', language: 'eng', channels: 2 }],
};
const hevc: MediaSummary = { ...h264, video: { ...h264.video!, codec: 'hevc' } };

/** Publishes what the planner would have for a file probed and planned under the default policy. */
async function known(publisher: EventPublisher, name: string, media: MediaSummary) {
  const path = join(library, name);
  const size = 600_000_000;
  const fileId = fileIdFor(library, name);
  const [probed, planned] = planDiscovery(
    { library, path, relativePath: name, size, mtimeMs: 1_700_000_000_000 },
    { ok: true, media },
    DEFAULT_POLICY,
  );
  const p = await publisher.emit(probed!, { fileId, discriminator: 'probe' });
  await publisher.emit(planned!, { fileId, causation: p });
  return {
    fileId,
    probed: probed!.data as FileProbedData,
    planned: planned!.data as FilePlannedData,
  };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conform-cli-plan-'));
  t = await startTestBus('cli-plan-test');
  await provisionEventLog(t.bus.jsm, { maxBytes: 64 * 1024 * 1024 });
  const publisher = new EventPublisher(t.bus.js, { producer: 'planner@test' });
  await known(publisher, 'a.mkv', h264);
  await known(publisher, 'b.mkv', hevc);
});
after(async () => {
  await t.cleanup();
  await rm(dir, { recursive: true, force: true });
});

describe('conform config validate', () => {
  it('accepts the shipped quality.yaml and exits 0', async () => {
    const r = await run(['config', 'validate']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /quality\.yaml: valid/);
  });

  it('exits 1 naming file, line, key and the expected values for an invalid file', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(
      file,
      'version: 1\nlibraries:\n  - root: /m\n    archive: /a\n    policy:\n      container: avi\n',
    );
    const r = await run(['config', 'validate', file]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `conform: invalid configuration: ${file}:6: libraries\\[0\\]\\.policy\\.container: expected one of "mkv", "mp4", "keep", got "avi"`,
      ),
    );
  });
});

describe('conform plan --dry-run', () => {
  it('refuses to run without --dry-run', async () => {
    const r = await run(['plan', '--nats', t.server.url]);
    assert.equal(r.code, 2);
  });

  it('lists every known file with its decision, reasons and estimated saving, changing nothing', async () => {
    const before = await t.bus.jsm.streams.info(EVENT_LOG_STREAM);
    const r = await run(['plan', '--dry-run', '--json', '--nats', t.server.url]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as DryRunReport;
    assert.deepEqual(
      report.files.map((f) => [f.path, f.decision, f.changes]),
      [
        [join(library, 'a.mkv'), 'encode', false],
        [join(library, 'b.mkv'), 'compliant', false],
      ],
    );
    assert.ok(report.files[0]!.reasons.some((x) => /h264 is not compliant/.test(x)));
    assert.equal(report.totals.encode, 1);
    assert.equal(report.totals.compliant, 1);
    assert.ok(report.totals.estimatedBytesSaved > 0);
    assert.equal(report.totals.estimatedBytesSaved, report.files[0]!.estimatedBytesSaved);
    const afterInfo = await t.bus.jsm.streams.info(EVENT_LOG_STREAM);
    assert.equal(afterInfo.state.messages, before.state.messages, 'nothing was published');
    assert.equal(afterInfo.state.consumer_count, before.state.consumer_count, 'no consumer left');
  });

  it('with another policy, shows which files would change', async () => {
    const file = join(dir, 'av1.yaml');
    await writeFile(
      file,
      `version: 1\ndefaults:\n  video: { codec: av1 }\nlibraries:\n  - root: ${library}\n    archive: /archive/plan-test\n`,
    );
    const r = await run(['plan', '--dry-run', '--nats', t.server.url, '--config', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^encode {4}a\.mkv {2}saves ~\d+(\.\d)? MB {2}\(changes\)$/m);
    assert.match(r.stdout, /^compliant b\.mkv$/m);
    assert.match(
      r.stdout,
      /2 files: 1 to encode, 1 compliant, 0 skipped; estimated saving .*; 1 would be re-planned/,
    );
  });

  it('reports nothing known for a fresh event log without creating one', async () => {
    const r = await run(['plan', '--dry-run', '--json', '--state-dir', join(dir, 'fresh-state')]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as DryRunReport;
    assert.equal(report.files.length, 0);
    assert.equal(report.totals.estimatedBytesSaved, 0);
  });
});

describe('conform up --config', () => {
  it('refuses --config together with --library', async () => {
    const r = await run(['up', '--config', 'x.yaml', '--library', dir, '--archive', dir]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /either --config FILE or --library\/--archive, not both/);
  });

  it('exits 1 on an invalid config, naming the line', async () => {
    const file = join(dir, 'up-bad.yaml');
    await writeFile(file, 'version: 1\nlibraries:\n  - root: relative\n    archive: /a\n');
    const r = await run(['up', '--config', file, '--state-dir', join(dir, 'up-bad-state')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`${file}:3: libraries\\[0\\]\\.root`));
  });

  it("starts the planner with each library's policy from the file", async () => {
    const lib = join(dir, 'up-lib');
    await mkdir(lib, { recursive: true });
    const file = join(dir, 'up.yaml');
    await writeFile(
      file,
      `version: 1\nlibraries:\n  - root: ${lib}\n    archive: ${join(dir, 'up-archive')}\n    policy:\n      video: { codec: av1 }\n`,
    );
    const expected = (await loadQualityConfig(file)).libraries[0]!.policyVersion;
    const conform = runConform([
      'up',
      '--config',
      file,
      '--state-dir',
      join(dir, 'up-state'),
      '--port',
      '0',
    ]);
    try {
      const line = await conform.waitForLog('planner policy');
      assert.deepEqual(line.libraries, [{ root: lib, policyVersion: expected }]);
      conform.child.kill('SIGTERM');
      assert.equal(await conform.exited, 0);
    } finally {
      conform.kill();
    }
  });
});
