import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { sampleData, type MediaSummary } from '@conform/contracts';
import {
  EventPublisher,
  eventually,
  lastEventOf,
  startTestBus,
  type RunningService,
  type TestBus,
} from '@conform/bus';
import { generateClip, probeMedia } from '@conform/media';
import { startEncoder } from '../src/index.js';

// Where the encoder takes the source's colour from, read off the phases of its `encoded` log
// line: `prepare` when the planner's file.probed answered, `prepareWithProbe` after an ffprobe.
let t: TestBus;
let publisher: EventPublisher;
let library: string;
let encoder: RunningService;
let media: MediaSummary;
const encoded = new Map<string, Record<string, number>>();
const source = sampleData['file.planned'].source;

before(async () => {
  t = await startTestBus('encoder-colour');
  publisher = new EventPublisher(t.bus.js, { producer: 'test@host' });
  library = await mkdtemp(join(tmpdir(), 'conform-colour-'));
  await generateClip({ path: join(library, 'clip.mkv'), durationSec: 1 });
  media = await probeMedia(join(library, 'clip.mkv'));
  const log = pino(
    { level: 'info' },
    {
      write(line: string) {
        const entry = JSON.parse(line) as { msg?: string; fileId?: string; phases?: never };
        if (entry.msg === 'encoded' && entry.fileId) encoded.set(entry.fileId, entry.phases!);
      },
    },
  );
  encoder = await startEncoder(
    { bus: t.bus, publisher, log },
    {
      niceness: 0, // not a priority test: at 19 a busy CI machine starves the encode
      slots: 1,
      encoder: 'libx265',
    },
  );
});
after(async () => {
  await encoder.stop();
  await t.cleanup();
  await rm(library, { recursive: true, force: true });
});

async function encode(fileId: string, probed: MediaSummary | null) {
  const path = join(library, 'clip.mkv');
  if (probed) {
    await publisher.emit(
      { type: 'file.probed', data: { library, path, source, media: probed } },
      { fileId },
    );
  }
  await publisher.emit(
    {
      type: 'file.planned',
      data: {
        ...sampleData['file.planned'],
        library,
        path,
        target: { videoCodec: 'hevc', container: 'mkv' },
        durationSec: 1,
      },
    },
    { fileId },
  );
  await eventually(() => lastEventOf(t.bus, 'encode.completed', fileId), {
    what: `encode.completed of ${fileId}`,
    timeoutMs: 60_000,
  });
  return eventually(() => encoded.get(fileId), { what: `the encoded line of ${fileId}` });
}

describe("the source's colour", () => {
  it("comes from the planner's probe of an SDR source, with no ffprobe of the encoder's", async () => {
    const phases = await encode('sdr', media);
    assert.equal(typeof phases.prepare, 'number');
    assert.equal(phases.prepareWithProbe, undefined);
  });
  it('is ffprobed for an HDR10 source (its mastering data is in the first frame)', async () => {
    const hdr = {
      ...media,
      video: { ...media.video!, colorTransfer: 'smpte2084', colorPrimaries: 'bt2020' },
    };
    const phases = await encode('hdr', hdr);
    assert.equal(typeof phases.prepareWithProbe, 'number');
  });
  it('is ffprobed when the log holds no probe of the file', async () => {
    const phases = await encode('unprobed', null);
    assert.equal(typeof phases.prepareWithProbe, 'number');
    assert.equal(phases.prepare, undefined);
  });
});
