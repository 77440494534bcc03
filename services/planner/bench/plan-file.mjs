// How long one decision takes: planFile over 100,000 varied files with the default policy and
// with the shipped quality.yaml's first library. Run after a build:
//   node services/planner/bench/plan-file.mjs
import { loadQualityConfig, DEFAULT_QUALITY_CONFIG_PATH } from '@conform/config';
import { DEFAULT_POLICY, planFile } from '@conform/planner';

const codecs = ['h264', 'hevc', 'mpeg2video', 'av1', 'vc1'];
const inputs = Array.from({ length: 100_000 }, (_, i) => ({
  library: '/lib',
  path: `/lib/Show ${i % 50}/Season 1/e${i}.${i % 3 ? 'mkv' : 'mp4'}`,
  size: 200_000_000 + i * 1000,
  freeBytes: 500e9,
  media: {
    container: 'matroska,webm',
    durationSec: 1500,
    bitRate: 4_000_000 + (i % 20) * 1_000_000,
    video: {
      codec: codecs[i % codecs.length],
      width: 1920,
      height: i % 7 ? 1080 : 2160,
      pixFmt: 'yuv420p',
      colorTransfer: i % 11 ? null : 'smpte2084',
    },
    audioStreams: 2,
    subtitleStreams: 2,
    streams: [
      { index: 1, kind: 'audio', codec: 'dts', language: 'eng', channels: 6 },
      { index: 2, kind: 'audio', codec: 'aac', language: 'ger', channels: 2 },
      { index: 3, kind: 'subtitle', codec: 'subrip', language: 'eng', channels: null },
      { index: 4, kind: 'subtitle', codec: 'hdmv_pgs_subtitle', language: 'fre', channels: null },
    ],
  },
}));
const shipped = (await loadQualityConfig(DEFAULT_QUALITY_CONFIG_PATH)).libraries[0].policy;
for (const [name, policy] of [
  ['default policy', DEFAULT_POLICY],
  ['config/quality.yaml', shipped],
]) {
  const start = process.hrtime.bigint();
  const counts = { encode: 0, skip: 0, compliant: 0 };
  for (const input of inputs) counts[planFile(input, policy).decision]++;
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  console.log(
    `${name}: ${inputs.length} decisions in ${ms.toFixed(0)} ms (${((ms * 1000) / inputs.length).toFixed(1)} µs each)`,
    counts,
  );
}
