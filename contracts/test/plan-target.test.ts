import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sampleEvent, validateEvent, type EventEnvelope } from '../src/index.js';

// The quality policy widened file.planned v1 compatibly: every event published before it
// must still validate, and the richer target must validate too.

function planned(target: unknown, extra: Record<string, unknown> = {}): unknown {
  const e = sampleEvent('file.planned') as EventEnvelope<'file.planned'>;
  return { ...e, data: { ...e.data, target, ...extra } };
}

describe('file.planned target (quality policy fields)', () => {
  it('still accepts the original shape: hevc, container only', () => {
    const r = validateEvent(planned({ videoCodec: 'hevc', container: 'mkv' }));
    assert.ok(r.ok, r.ok ? '' : r.error);
  });

  it('accepts av1 and h264 with quality, scaling, 10-bit, HDR and stream plans', () => {
    const r = validateEvent(
      planned(
        {
          videoCodec: 'av1',
          container: 'mp4',
          quality: { nvencCq: 26, cpuCrf: 30, qsvQuality: 25, vaapiQp: 25 },
          maxHeight: 1080,
          tenBit: true,
          keepHdr: false,
          streams: [
            { index: 1, kind: 'audio', action: 'convert', codec: 'aac', bitrateKbps: 192 },
            { index: 2, kind: 'subtitle', action: 'convert', codec: 'mov_text', bitrateKbps: null },
            { index: 3, kind: 'audio', action: 'drop', codec: null, bitrateKbps: null },
          ],
        },
        { previousPolicyVersion: 'abc123' },
      ),
    );
    assert.ok(r.ok, r.ok ? '' : r.error);
  });

  it('rejects a codec outside the list and an unknown stream action', () => {
    const bad = validateEvent(planned({ videoCodec: 'vp9', container: 'mkv' }));
    assert.equal(bad.ok, false);
    const badAction = validateEvent(
      planned({
        videoCodec: 'hevc',
        container: 'mkv',
        streams: [{ index: 1, kind: 'audio', action: 'mute', codec: null, bitrateKbps: null }],
      }),
    );
    assert.equal(badAction.ok, false);
    assert.match(badAction.ok ? '' : badAction.error, /action/);
  });

  it('accepts a file.probed without the optional stream detail', () => {
    const e = sampleEvent('file.probed') as EventEnvelope<'file.probed'>;
    const media = structuredClone(e.data.media) as unknown as Record<string, unknown>;
    delete media.streams;
    const video = { ...e.data.media.video! } as Record<string, unknown>;
    delete video.colorTransfer;
    const r = validateEvent({ ...e, data: { ...e.data, media: { ...media, video } } });
    assert.ok(r.ok, r.ok ? '' : r.error);
  });
});
