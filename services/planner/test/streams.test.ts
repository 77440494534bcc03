import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MediaSummary, StreamInfo } from '@conform/contracts';
import { DEFAULT_POLICY, planFile, type Policy } from '../src/index.js';

// Every stream of the source gets an explicit rule in the plan, with its reason.

const stream = (
  index: number,
  kind: StreamInfo['kind'],
  codec: string,
  extra: Partial<StreamInfo> = {},
): StreamInfo => ({
  index,
  kind,
  codec,
  language: null,
  channels: null,
  ...extra,
});
const media = (streams: StreamInfo[]): MediaSummary => ({
  container: 'mov,mp4,m4a,3gp,3g2,mj2',
  durationSec: 100,
  bitRate: 8_000_000,
  video: { codec: 'h264', width: 1920, height: 1080, pixFmt: 'yuv420p', timecode: '10:00:00:00' },
  audioStreams: 1,
  subtitleStreams: 0,
  chapters: 4,
  streams,
});
const plan = (m: MediaSummary, policy: Policy = DEFAULT_POLICY, path = '/lib/a.mp4') =>
  planFile({ library: '/lib', path, size: 100_000_000, media: m, freeBytes: null }, policy);

describe('stream plan', () => {
  const all = media([
    stream(1, 'audio', 'aac', { language: 'eng', channels: 2 }),
    stream(2, 'data', 'unknown', { codecTag: 'tmcd' }),
    stream(3, 'cover', 'mjpeg'),
    stream(4, 'video', 'h264'),
  ]);

  it('names a rule for every stream: audio copied, data dropped (timecode kept), cover kept, extra video dropped', () => {
    const p = plan(all);
    assert.equal(p.target?.allStreams, true);
    assert.equal(p.target?.chapters, 'keep');
    assert.deepEqual(
      p.target?.streams?.map((s) => [s.index, s.kind, s.action]),
      [
        [1, 'audio', 'copy'],
        [2, 'data', 'drop'],
        [3, 'cover', 'copy'],
        [4, 'video', 'drop'],
      ],
    );
    const text = p.reasons.join('\n');
    assert.match(text, /drop data stream 2 \(tmcd\): .*timecode 10:00:00:00 is kept/);
    assert.match(text, /keep cover art \(stream 3, mjpeg\): policy streams.coverArt is keep/);
    assert.match(text, /drop extra video stream 4 .*first video stream only/);
    assert.match(text, /keep 4 chapter\(s\)/);
    assert.ok(p.target?.streams?.filter((s) => s.kind !== 'audio').every((s) => s.reason));
  });

  it('fonts in an mp4-bound file switch the output to mkv, which holds them', () => {
    const p = plan(media([stream(1, 'attachment', 'ttf', { filename: 'Font.ttf' })]));
    assert.equal(p.target?.container, 'mkv');
    assert.match(
      p.reasons.join('\n'),
      /attachments \(Font.ttf\) cannot go in mp4 .*output mkv instead/,
    );
  });

  it('drops cover art when the policy says so', () => {
    const dropCovers: Policy = {
      ...DEFAULT_POLICY,
      streams: { ...DEFAULT_POLICY.streams, coverArt: 'drop' },
    };
    const p = plan(all, dropCovers);
    assert.equal(p.target?.streams?.find((s) => s.kind === 'cover')?.action, 'drop');
    assert.match(
      p.reasons.join('\n'),
      /drop cover art \(stream 3\): policy streams.coverArt is drop/,
    );
  });
});
