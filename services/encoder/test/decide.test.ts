import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sampleEvent, type EventEnvelope, WORK_DIR_NAME } from '@conform/contracts';
import {
  classifyFailure,
  decideEncode,
  diskNeedFor,
  knownColour,
  ranOutOfSpace,
  outputPathFor,
  partialPathFor,
} from '../src/index.js';

const planned = sampleEvent('file.planned', 'f123');
const media = sampleEvent('file.probed').data.media;
const withData = (
  data: Partial<EventEnvelope<'file.planned'>['data']>,
): EventEnvelope<'file.planned'> => ({ ...planned, data: { ...planned.data, ...data } });
const expectedOutput = `/media/movies/${WORK_DIR_NAME}/f123-${planned.id.slice(0, 12)}.mp4`;

describe('outputPathFor', () => {
  it('puts the output in the library work dir, named by file id and planned event id', () => {
    assert.equal(outputPathFor('/media/movies', 'f123', planned.id, 'mp4'), expectedOutput);
    assert.equal(partialPathFor(expectedOutput), `${expectedOutput}.partial`);
  });
});

describe('decideEncode', () => {
  describe('given a plan to encode', () => {
    it('and no output yet, encodes into the partial path', () => {
      assert.deepEqual(
        decideEncode(planned, () => false),
        {
          kind: 'encode',
          outputPath: expectedOutput,
          partialPath: `${expectedOutput}.partial`,
          target: { videoCodec: 'hevc', container: 'mp4' },
        },
      );
    });

    it('and a committed output from an earlier delivery, does not encode again', () => {
      const action = decideEncode(planned, (p) => p === expectedOutput);
      assert.equal(action.kind, 'already-encoded');
    });

    it('but no target, ignores it', () => {
      assert.equal(decideEncode(withData({ target: null }), () => false).kind, 'ignore');
    });
  });

  for (const decision of ['compliant', 'skip'] as const) {
    describe(`given a ${decision} plan`, () => {
      it('ignores it', () => {
        assert.deepEqual(
          decideEncode(withData({ decision, target: null }), () => false),
          {
            kind: 'ignore',
            why: `decision is ${decision}`,
          },
        );
      });
    });
  }
});

describe('classifyFailure', () => {
  it('given an unreadable source, the failure is permanent with the probe reason', () => {
    assert.deepEqual(classifyFailure([], { ok: false, reason: 'Invalid data found' }), {
      permanent: true,
      reason: 'source is unreadable: Invalid data found',
    });
  });

  it('given a readable source but a decoder error, the failure is permanent', () => {
    const verdict = classifyFailure(
      [
        '[h264 @ 0x1] error',
        'Error while decoding stream #0:0: Invalid data found when processing input',
      ],
      { ok: true, media },
    );
    assert.equal(verdict.permanent, true);
  });

  it('given a readable source and a full disk, the failure is transient', () => {
    const verdict = classifyFailure(['av_interleaved_write_frame(): No space left on device'], {
      ok: true,
      media,
    });
    assert.deepEqual(verdict, { permanent: false });
  });
});

describe('diskNeedFor (the rule shared with the planner)', () => {
  const MiB = 1024 ** 2;
  it('takes the estimate plus 10 % for a plan from before diskNeededBytes', () => {
    const need = diskNeedFor(withData({ estimatedOutputBytes: 10 * MiB }));
    assert.deepEqual(need, { bytes: 11 * MiB, why: 'estimated output 10.0 MiB + 10 %' });
  });
  it("takes the planner's figure when the policy's reserve made it larger", () => {
    const need = diskNeedFor(withData({ estimatedOutputBytes: 10 * MiB, diskNeededBytes: 2e9 }));
    assert.deepEqual(need, { bytes: 2e9, why: "the policy's reserve 1.9 GiB" });
  });
  it('knows ffmpeg running out of space when it says so', () => {
    assert.equal(ranOutOfSpace(['[matroska] write: No space left on device']), true);
    assert.equal(ranOutOfSpace(['Conversion failed!']), false);
  });
});

describe('knownColour', () => {
  const stamp = { size: 10, mtimeMs: 5 };
  const probedWith = (video: Partial<NonNullable<typeof media.video>>, source = stamp) => ({
    source,
    media: { ...media, video: { ...media.video!, ...video } },
  });
  it("takes an SDR source's colour from the planner's probe of the same version", () => {
    const sdr = probedWith({
      pixFmt: 'yuv420p10le',
      colorTransfer: 'bt709',
      colorPrimaries: 'bt709',
      colorSpace: 'bt709',
    });
    assert.deepEqual(knownColour(sdr, stamp), {
      pixFmt: 'yuv420p10le',
      colorPrimaries: 'bt709',
      colorTransfer: 'bt709',
      colorSpace: 'bt709',
      bitDepth: 10,
      masterDisplay: null,
      maxCll: null,
    });
    const untagged = probedWith({ pixFmt: 'yuv420p', colorTransfer: null, colorPrimaries: null });
    assert.equal(knownColour(untagged, stamp)?.bitDepth, 8);
  });
  it('leaves it to an ffprobe for HDR10, another version, an old probe or none', () => {
    const hdr = probedWith({ colorTransfer: 'smpte2084', colorPrimaries: 'bt2020' });
    assert.equal(knownColour(hdr, stamp), null);
    const sdr = probedWith({ colorTransfer: 'bt709', colorPrimaries: 'bt709' });
    assert.equal(knownColour(sdr, { size: 10, mtimeMs: 6 }), null);
    const old = probedWith({ colorTransfer: undefined, colorPrimaries: undefined });
    assert.equal(knownColour(old, stamp), null);
    assert.equal(knownColour(null, stamp), null);
  });
});
