import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ALL_PROFILES,
  buildEncodeArgs,
  ENCODE_PROFILES,
  EncodeProfileViolationError,
  hwDecodeVerdict,
  outputFormatFor,
  trialDecodeArgs,
  type EncodeArgsInput,
  type EncoderName,
} from '../src/index.js';

const input = (encoder: EncoderName, over: Partial<EncodeArgsInput> = {}): EncodeArgsInput => ({
  inputPath: '/lib/in put.mkv',
  outputPath: '/w/o.partial',
  profile: ENCODE_PROFILES[encoder],
  container: 'mkv',
  tenBit: false,
  hdr10: null,
  quality: null,
  ...over,
});
const render = (args: string[]) => args.join(' ');

const head = '-hide_banner -nostdin -y';
const maps = '-map 0:v:0 -map 0:a? -map 0:s? -map 0:t?';
const even = 'scale=trunc(iw/2)*2:trunc(ih/2)*2';
const tailMkv =
  '-c:a copy -c:s copy -c:t copy -map_metadata 0 -map_chapters 0 -max_muxing_queue_size 4096 -f matroska /w/o.partial';

// One golden line per backend: the whole argument list for an 8-bit SDR plan into mkv.
const golden: Record<EncoderName, string> = {
  libx265: `${head} -i /lib/in put.mkv ${maps} -filter:v:0 ${even} -c:v libx265 -pix_fmt yuv420p -fps_mode passthrough -preset fast -crf 26 -x265-params log-level=error ${tailMkv}`,
  libx264: `${head} -i /lib/in put.mkv ${maps} -filter:v:0 ${even} -c:v libx264 -pix_fmt yuv420p -fps_mode passthrough -preset medium -crf 21 ${tailMkv}`,
  libsvtav1: `${head} -i /lib/in put.mkv ${maps} -filter:v:0 ${even} -c:v libsvtav1 -pix_fmt yuv420p -fps_mode passthrough -preset 8 -crf 32 ${tailMkv}`,
  hevc_nvenc: `${head} -i /lib/in put.mkv ${maps} -filter:v:0 ${even} -c:v hevc_nvenc -pix_fmt yuv420p -fps_mode passthrough -preset p5 -rc vbr -cq 28 -b:v 0 ${tailMkv}`,
  h264_nvenc: `${head} -i /lib/in put.mkv ${maps} -filter:v:0 ${even} -c:v h264_nvenc -pix_fmt yuv420p -fps_mode passthrough -preset p5 -rc vbr -cq 23 -b:v 0 ${tailMkv}`,
  av1_nvenc: `${head} -i /lib/in put.mkv ${maps} -filter:v:0 ${even} -c:v av1_nvenc -pix_fmt yuv420p -fps_mode passthrough -preset p5 -rc vbr -cq 28 -b:v 0 ${tailMkv}`,
  hevc_qsv: `${head} -init_hw_device qsv=hw -filter_hw_device hw -i /lib/in put.mkv ${maps} -filter:v:0 ${even} -c:v hevc_qsv -pix_fmt nv12 -fps_mode passthrough -preset medium -global_quality 25 ${tailMkv}`,
  h264_qsv: `${head} -init_hw_device qsv=hw -filter_hw_device hw -i /lib/in put.mkv ${maps} -filter:v:0 ${even} -c:v h264_qsv -pix_fmt nv12 -fps_mode passthrough -preset medium -global_quality 25 ${tailMkv}`,
  av1_qsv: `${head} -init_hw_device qsv=hw -filter_hw_device hw -i /lib/in put.mkv ${maps} -filter:v:0 ${even} -c:v av1_qsv -pix_fmt nv12 -fps_mode passthrough -preset medium -global_quality 25 ${tailMkv}`,
  hevc_vaapi: `${head} -vaapi_device /dev/dri/renderD128 -i /lib/in put.mkv ${maps} -filter:v:0 ${even},format=nv12,hwupload -c:v hevc_vaapi -pix_fmt vaapi -fps_mode passthrough -rc_mode CQP -qp 25 ${tailMkv}`,
  h264_vaapi: `${head} -vaapi_device /dev/dri/renderD128 -i /lib/in put.mkv ${maps} -filter:v:0 ${even},format=nv12,hwupload -c:v h264_vaapi -pix_fmt vaapi -fps_mode passthrough -rc_mode CQP -qp 25 ${tailMkv}`,
};

describe('buildEncodeArgs (golden, every backend)', () => {
  for (const profile of ALL_PROFILES) {
    it(`${profile.encoder} into mkv`, () => {
      assert.equal(render(buildEncodeArgs(input(profile.encoder))), golden[profile.encoder]);
    });
  }

  it('the same plan gives the same argument list', () => {
    for (const p of ALL_PROFILES) {
      assert.deepEqual(buildEncodeArgs(input(p.encoder)), buildEncodeArgs(input(p.encoder)));
    }
  });
});

describe('buildEncodeArgs (policy options)', () => {
  it('mp4: no attachments, the Apple tag for hevc, faststart', () => {
    assert.equal(
      render(
        buildEncodeArgs(input('libx265', { container: 'mp4', outputPath: '/w/o.mp4.partial' })),
      ),
      `${head} -i /lib/in put.mkv -map 0:v:0 -map 0:a? -map 0:s? -filter:v:0 ${even} -c:v libx265 -pix_fmt yuv420p -fps_mode passthrough -preset fast -crf 26 -x265-params log-level=error -c:a copy -c:s copy -map_metadata 0 -map_chapters 0 -max_muxing_queue_size 4096 -tag:v:0 hvc1 -movflags +faststart -f mp4 /w/o.mp4.partial`,
    );
    const av1 = buildEncodeArgs(input('libsvtav1', { container: 'mp4' }));
    assert.ok(!av1.includes('-tag:v'));
    assert.ok(av1.includes('+faststart'));
  });

  it('10 bit picks each profile’s 10-bit pixel format and upload filter', () => {
    const x265 = buildEncodeArgs(input('libx265', { tenBit: true }));
    assert.equal(x265[x265.indexOf('-pix_fmt') + 1], 'yuv420p10le');
    const nv = buildEncodeArgs(input('hevc_nvenc', { tenBit: true }));
    assert.equal(nv[nv.indexOf('-pix_fmt') + 1], 'p010le');
    const va = buildEncodeArgs(input('hevc_vaapi', { tenBit: true }));
    assert.equal(va[va.indexOf('-filter:v:0') + 1], `${even},format=p010,hwupload`);
  });

  it('refuses 10 bit on an encoder that cannot do it, naming the encoder', () => {
    assert.throws(
      () => buildEncodeArgs(input('h264_nvenc', { tenBit: true })),
      (err: unknown) =>
        err instanceof EncodeProfileViolationError &&
        /h264_nvenc: cannot encode 10-bit/.test(err.message),
    );
  });

  it('HDR10: 10 bit, BT.2020/PQ tags, and x265 mastering metadata', () => {
    const hdr10 = { masterDisplay: 'G(1,2)B(3,4)R(5,6)WP(7,8)L(9,10)', maxCll: '1000,400' };
    const x265 = buildEncodeArgs(input('libx265', { hdr10 }));
    assert.equal(x265[x265.indexOf('-pix_fmt') + 1], 'yuv420p10le');
    assert.equal(
      x265[x265.indexOf('-x265-params') + 1],
      'log-level=error:hdr10=1:hdr10-opt=1:repeat-headers=1:master-display=G(1,2)B(3,4)R(5,6)WP(7,8)L(9,10):max-cll=1000,400',
    );
    const nv = render(buildEncodeArgs(input('hevc_nvenc', { hdr10 })));
    assert.match(nv, /-color_primaries bt2020 -color_trc smpte2084 -colorspace bt2020nc/);
    assert.match(nv, /-pix_fmt p010le/);
  });

  it('quality from the plan, clamped into the profile’s range', () => {
    const args = buildEncodeArgs(input('libsvtav1', { quality: 99 }));
    assert.equal(args[args.indexOf('-crf') + 1], '63');
    const nv = buildEncodeArgs(input('hevc_nvenc', { quality: 24.4 }));
    assert.equal(nv[nv.indexOf('-cq') + 1], '24');
  });

  it('maxHeight downscales keeping the aspect ratio, never upscaling, even sizes', () => {
    const args = buildEncodeArgs(input('libx265', { maxHeight: 1080 }));
    assert.equal(args[args.indexOf('-filter:v:0') + 1], "scale=w=-2:h='trunc(min(ih,1080)/2)*2'");
  });

  it('a stream plan maps kept streams only and sets each one’s codec by output index', () => {
    const args = buildEncodeArgs(
      input('libx265', {
        container: 'mp4',
        streams: [
          { index: 1, kind: 'audio', action: 'copy', codec: null, bitrateKbps: null },
          { index: 2, kind: 'audio', action: 'drop', codec: null, bitrateKbps: null },
          { index: 3, kind: 'audio', action: 'convert', codec: 'aac', bitrateKbps: 192 },
          { index: 4, kind: 'subtitle', action: 'convert', codec: 'mov_text', bitrateKbps: null },
        ],
      }),
    );
    const r = render(args);
    assert.match(r, / -map 0:v:0 -map 0:1 -map 0:3 -map 0:4 -filter:v:0 /);
    assert.match(r, / -c:1 copy -c:2 aac -b:2 192k -c:3 mov_text -map_metadata /);
    assert.doesNotMatch(r, /0:2|-c:a/);
  });
});

describe('output pixel format and frame size from the plan', () => {
  it('libx265 writes the plan 4:4:4 at its exact odd size', () => {
    const args = buildEncodeArgs(
      input('libx265', { pixFmt: 'yuv444p', frameSize: { width: 321, height: 241 } }),
    );
    assert.equal(
      render(args),
      `${head} -i /lib/in put.mkv ${maps} -filter:v:0 scale=321:241 -c:v libx265 -pix_fmt yuv444p -fps_mode passthrough -preset fast -crf 26 -x265-params log-level=error ${tailMkv}`,
    );
  });

  it('maps the software format to each GPU encoder’s own (p010le, vaapi upload of p010)', () => {
    const nvenc = buildEncodeArgs(input('hevc_nvenc', { pixFmt: 'yuv420p10le' }));
    assert.ok(render(nvenc).includes('-c:v hevc_nvenc -pix_fmt p010le'));
    const vaapi = buildEncodeArgs(
      input('hevc_vaapi', { pixFmt: 'yuv420p10le', frameSize: { width: 320, height: 240 } }),
    );
    assert.ok(
      render(vaapi).includes(
        '-filter:v:0 scale=320:240,format=p010,hwupload -c:v hevc_vaapi -pix_fmt vaapi',
      ),
    );
  });

  it('refuses a format the encoder cannot write', () => {
    assert.throws(
      () => buildEncodeArgs(input('libsvtav1', { pixFmt: 'yuv444p' })),
      EncodeProfileViolationError,
    );
  });

  it('a GPU encoder without 4:4:4 falls back to 4:2:0 of the same depth, saying so', () => {
    assert.deepEqual(outputFormatFor(ENCODE_PROFILES.hevc_qsv, 'yuv444p10le'), {
      pixFmt: 'yuv420p10le',
      fallback: 'hevc_qsv cannot encode yuv444p10le: wrote yuv420p10le',
    });
    assert.deepEqual(outputFormatFor(ENCODE_PROFILES.libx265, 'yuv444p10le'), {
      pixFmt: 'yuv444p10le',
      fallback: null,
    });
    assert.equal(outputFormatFor(ENCODE_PROFILES.h264_nvenc, 'yuv422p').pixFmt, 'yuv420p');
  });
});

describe('deinterlacing', () => {
  it('puts bwdif with the plan’s parity before the scale', () => {
    const args = buildEncodeArgs(
      input('libx265', { deinterlace: { parity: 'tff' }, frameSize: { width: 720, height: 576 } }),
    );
    assert.equal(
      args[args.indexOf('-filter:v:0') + 1],
      'bwdif=mode=send_frame:parity=tff:deint=all,scale=720:576',
    );
  });
});

describe('remux only', () => {
  it('copies the video (no device, filter, quality or pixel format) and applies the stream plan', () => {
    const args = buildEncodeArgs(
      input('hevc_nvenc', {
        videoCopy: true,
        container: 'mp4',
        allStreams: true,
        streams: [
          { index: 1, kind: 'audio', action: 'copy', codec: null, bitrateKbps: null },
          { index: 2, kind: 'audio', action: 'drop', codec: null, bitrateKbps: null },
        ],
      }),
    );
    assert.equal(
      render(args),
      `${head} -i /lib/in put.mkv -map 0:v:0 -map 0:1 -c:v:0 copy -c:1 copy -map_metadata 0 -map_chapters 0 -max_muxing_queue_size 4096 -tag:v:0 hvc1 -movflags +faststart -f mp4 /w/o.partial`,
    );
  });
});

describe('hardware decode pipelines', () => {
  const plan = { frameSize: { width: 1280, height: 720 } };
  const tail = `-map_metadata 0 -map_chapters 0 -max_muxing_queue_size 4096 -f matroska /w/o.partial`;
  const hwGolden: Record<'hevc_nvenc' | 'hevc_qsv' | 'hevc_vaapi', string> = {
    hevc_nvenc: `${head} -hwaccel cuda -hwaccel_output_format cuda -i /lib/in put.mkv ${maps} -filter:v:0 scale_cuda=w=1280:h=720:format=nv12 -c:v hevc_nvenc -fps_mode passthrough -preset p5 -rc vbr -cq 28 -b:v 0 -c:a copy -c:s copy -c:t copy ${tail}`,
    hevc_qsv: `${head} -init_hw_device qsv=hw -filter_hw_device hw -hwaccel qsv -hwaccel_device hw -hwaccel_output_format qsv -i /lib/in put.mkv ${maps} -filter:v:0 scale_qsv=w=1280:h=720:format=nv12 -c:v hevc_qsv -fps_mode passthrough -preset medium -global_quality 25 -c:a copy -c:s copy -c:t copy ${tail}`,
    hevc_vaapi: `${head} -vaapi_device /dev/dri/renderD128 -hwaccel vaapi -hwaccel_output_format vaapi -i /lib/in put.mkv ${maps} -filter:v:0 scale_vaapi=w=1280:h=720:format=nv12 -c:v hevc_vaapi -fps_mode passthrough -rc_mode CQP -qp 25 -c:a copy -c:s copy -c:t copy ${tail}`,
  };
  for (const [encoder, line] of Object.entries(hwGolden)) {
    it(`${encoder}: decode, scale and encode on the device`, () => {
      assert.equal(
        render(buildEncodeArgs(input(encoder as EncoderName, { ...plan, hwDecode: true }))),
        line,
      );
    });
    it(`${encoder}: the per-file fallback decodes in software and uploads as before`, () => {
      const args = render(
        buildEncodeArgs(input(encoder as EncoderName, { ...plan, hwDecode: false })),
      );
      assert.ok(!args.includes('-hwaccel'), args);
      assert.ok(args.includes('-filter:v:0 scale=1280:720'), args);
    });
  }

  it('deinterlaces on the device with its own deinterlacer, 10 bit in p010', () => {
    const one = (encoder: EncoderName) => {
      const a = buildEncodeArgs(
        input(encoder, { ...plan, hwDecode: true, tenBit: true, deinterlace: { parity: 'tff' } }),
      );
      return a[a.indexOf('-filter:v:0') + 1];
    };
    assert.equal(
      one('hevc_nvenc'),
      'yadif_cuda=mode=send_frame:parity=tff:deint=all,scale_cuda=w=1280:h=720:format=p010le',
    );
    assert.equal(one('hevc_qsv'), 'deinterlace_qsv,scale_qsv=w=1280:h=720:format=p010');
    assert.equal(
      one('hevc_vaapi'),
      'deinterlace_vaapi=rate=frame,scale_vaapi=w=1280:h=720:format=p010',
    );
  });

  it('hwDecodeVerdict allows 4:2:0 sources the device decodes, and says why not otherwise', () => {
    const src = (codec: string, pixFmt: string, rotation: number | null = null) => ({
      codec,
      pixFmt,
      rotation,
    });
    const p = ENCODE_PROFILES.hevc_nvenc;
    assert.deepEqual(hwDecodeVerdict(p, src('h264', 'yuv420p'), plan), { ok: true });
    assert.deepEqual(hwDecodeVerdict(p, src('hevc', 'yuv420p10le'), plan), { ok: true });
    assert.match(
      String((hwDecodeVerdict(p, src('h264', 'yuv420p10le'), plan) as { why: string }).why),
      /does not decode h264 in yuv420p10le/,
    );
    assert.match(
      String((hwDecodeVerdict(p, src('mpeg4', 'yuv420p'), plan) as { why: string }).why),
      /does not decode mpeg4/,
    );
    assert.match(
      String(
        (
          hwDecodeVerdict(p, src('h264', 'yuv420p'), { ...plan, pixFmt: 'yuv444p' }) as {
            why: string;
          }
        ).why,
      ),
      /yuv444p output needs software frames/,
    );
    assert.match(
      String((hwDecodeVerdict(p, src('h264', 'yuv420p', 90), plan) as { why: string }).why),
      /rotated/,
    );
    assert.equal(hwDecodeVerdict(ENCODE_PROFILES.libx265, src('h264', 'yuv420p'), plan).ok, false);
  });

  it('trial decode arguments: a few frames on the device, to nothing', () => {
    assert.equal(
      render(trialDecodeArgs(ENCODE_PROFILES.hevc_vaapi, '/lib/a.mkv')),
      '-hide_banner -nostdin -v error -vaapi_device /dev/dri/renderD128 -hwaccel vaapi -hwaccel_output_format vaapi -i /lib/a.mkv -map 0:v:0 -frames:v 3 -f null -',
    );
  });
});
