// Encodes run below everything else on the machine (DEFAULT_ENCODE_NICENESS): the running
// ffmpeg and every thread it started carry the niceness. Real bus, real ffmpeg, read from /proc.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sampleData } from '@conform/contracts';
import {
  EventPublisher,
  eventually,
  silentLogger,
  startTestBus,
  type ServiceContext,
  type TestBus,
} from '@conform/bus';
import {
  generateClip,
  processesMentioning,
  SCHED_IDLE,
  SCHED_OTHER,
  threadNiceness,
  threadPolicy,
} from '@conform/media';
import {
  DEFAULT_ENCODE_NICENESS,
  LOWEST_NICENESS,
  detectEncodersOnce,
  outputPathFor,
  startEncoder,
} from '../src/index.js';

let t: TestBus;
let library: string;
before(async () => {
  t = await startTestBus('encoder-niceness-test');
  library = await mkdtemp(join(tmpdir(), 'conform-encoder-nice-'));
});
after(async () => {
  await t.cleanup();
  await rm(library, { recursive: true, force: true });
});

const context = (producer: string): ServiceContext => ({
  bus: t.bus,
  publisher: new EventPublisher(t.bus.js, { producer }),
  log: silentLogger(),
  eventLog: { maxBytes: 64 * 1024 * 1024 },
});

/** The nice value of the process `pid` (its main thread), of each of its threads, and their policies. */
async function threadNicenessOf(
  pid: number,
): Promise<{ main: number; threads: number[]; policies: number[] }> {
  const byThread = await threadNiceness(pid);
  const policies = [...(await threadPolicy(pid)).values()];
  return { main: byThread.get(pid)!, threads: [...byThread.values()], policies };
}

/**
 * ffmpeg runs at `niceness` and no thread of it above that: x265 lowers some of its own threads
 * further (to 19 here), never raises one. `atNiceness`: how many threads must be at it (x265's
 * pool once it has started, the main thread alone before).
 */
function assertRunsAt(
  found: { main: number; threads: number[] },
  niceness: number,
  atNiceness = 2,
): void {
  const seen = found.threads.join(',');
  assert.equal(found.main, niceness, `main thread; threads ${seen}`);
  assert.ok(
    found.threads.every((n) => n >= niceness),
    `every thread at ${niceness} or lower priority: ${seen}`,
  );
  assert.ok(found.threads.filter((n) => n === niceness).length >= atNiceness, seen);
}

/**
 * The running encode's ffmpeg of `fileId`, read once `ready` holds for it. Under SCHED_IDLE on a
 * machine busy with other tests ffmpeg gets almost no CPU (the kernel's point), so the default
 * case cannot wait for x265's thread pool: it waits for chrt and nice to have exec-ed ffmpeg,
 * which takes no more than the exec itself. That every thread ffmpeg starts inherits the policy
 * is media's test (ffmpeg.test.ts).
 */
async function runningEncodeOf(
  options: { niceness?: number },
  fileId: string,
  ready: (found: { threads: number[] }) => boolean = (found) => found.threads.length >= 3,
) {
  const encoder = await startEncoder(context(`encoder-${fileId}@host`), {
    node: `node-${fileId}`,
    availability: await detectEncodersOnce(),
    ...options,
  });
  try {
    const path = join(library, `${fileId}.mkv`);
    await generateClip({ path, durationSec: 30 });
    const planned = await new EventPublisher(t.bus.js, { producer: 'test@host' }).emit(
      {
        type: 'file.planned',
        data: {
          ...sampleData['file.planned'],
          library,
          path,
          source: { size: 50_000_000, mtimeMs: 1 },
          target: { videoCodec: 'hevc', container: 'mkv' },
          estimatedOutputBytes: 100_000,
          durationSec: 30,
        },
      },
      { fileId },
    );
    const partial = `${outputPathFor(library, fileId, planned.id, 'mkv')}.partial`;
    return await eventually(
      async () => {
        const [pid] = await processesMentioning(partial);
        if (pid === undefined) return undefined;
        const program = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split(
          '\0',
        )[0];
        if (program !== 'ffmpeg') return undefined; // still chrt or nice, before their exec
        const nices = await threadNicenessOf(pid).catch(() => undefined);
        return nices && ready(nices) ? nices : undefined;
      },
      { what: `the encode of ${fileId} running as ffmpeg`, timeoutMs: 60_000 },
    );
  } finally {
    await encoder.stop();
  }
}

describe('encode priority', () => {
  it('runs every thread of the encode at the default niceness, the lowest, and under SCHED_IDLE', async () => {
    assert.equal(DEFAULT_ENCODE_NICENESS, 19);
    assert.equal(DEFAULT_ENCODE_NICENESS, LOWEST_NICENESS);
    const found = await runningEncodeOf({}, 'default-nice', () => true);
    // At the lowest niceness "at it or lower" is "at it": every thread it has so far.
    assertRunsAt(found, DEFAULT_ENCODE_NICENESS, 1);
    // This machine allows it (Linux, util-linux's chrt): ffmpeg and each thread it has so far.
    assert.deepEqual(new Set(found.policies), new Set([SCHED_IDLE]), found.policies.join(','));
  });

  it('takes another niceness, and 0 runs the encode at the encoder’s own priority', async () => {
    const three = await runningEncodeOf({ niceness: 3 }, 'nice-3');
    assertRunsAt(three, 3);
    // Idle scheduling is the lowest priority's alone: a chosen niceness is what it says.
    assert.deepEqual(new Set(three.policies), new Set([SCHED_OTHER]));
    assertRunsAt(await runningEncodeOf({ niceness: 0 }, 'nice-0'), 0);
  });
});
