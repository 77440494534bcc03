import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  ConfigError,
  DEFAULT_QUALITY_CONFIG_PATH,
  defaultQualityPolicy,
  loadQualityConfig,
  parseQualityConfig,
  policyVersion,
  QUALITY_EXAMPLES_DIR,
  qualitySchema,
} from '../src/index.js';

function problem(text: string): ConfigError {
  try {
    parseQualityConfig(text, 'quality.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  assert.fail('expected the config to be rejected');
}

describe('shipped configuration', () => {
  it('config/quality.yaml is valid and points editors at the schema', async () => {
    const config = await loadQualityConfig(DEFAULT_QUALITY_CONFIG_PATH);
    // The shipped file is the one compose mounts: its library is the container's mount point.
    assert.deepEqual(
      config.libraries.map((l) => [l.root, l.archive]),
      [['/media/library', '/media/archive']],
    );
    const text = await readFile(DEFAULT_QUALITY_CONFIG_PATH, 'utf8');
    assert.match(text, /^\$schema: \.\/quality\.schema\.json$/m);
    assert.match(text, /yaml-language-server: \$schema=\.\/quality\.schema\.json/);
  });

  it('has the promised examples, each valid', async () => {
    const files = (await readdir(QUALITY_EXAMPLES_DIR)).filter((f) => f.endsWith('.yaml')).sort();
    assert.deepEqual(files, [
      'cpu-av1.yaml',
      'integrations.yaml',
      'keep-originals.yaml',
      'nvidia-hevc.yaml',
    ]);
    for (const f of files) {
      const config = await loadQualityConfig(join(QUALITY_EXAMPLES_DIR, f));
      assert.ok(config.libraries.length > 0, f);
    }
  });

  it('examples say what they are named for', async () => {
    const av1 = await loadQualityConfig(join(QUALITY_EXAMPLES_DIR, 'cpu-av1.yaml'));
    assert.equal(av1.libraries[0]!.policy.video.codec, 'av1');
    assert.equal(av1.libraries[0]!.policy.video.hdr, 'skip');
    const nv = await loadQualityConfig(join(QUALITY_EXAMPLES_DIR, 'nvidia-hevc.yaml'));
    assert.equal(nv.libraries[0]!.policy.video.quality.nvencCq, 24);
    const keep = await loadQualityConfig(join(QUALITY_EXAMPLES_DIR, 'keep-originals.yaml'));
    assert.ok(keep.libraries.every((l) => l.keepOriginals && l.archive === null));
  });

  it('the schema is draft-07 with an $id editors can resolve', () => {
    assert.equal(qualitySchema.$schema, 'http://json-schema.org/draft-07/schema#');
    assert.match(String(qualitySchema.$id), /quality\.schema\.json$/);
  });
});

describe('defaults and overrides', () => {
  const text = `version: 1
defaults:
  video: { codec: av1, quality: { cpuCrf: 30 } }
  audio: { keepLanguages: [eng, fre] }
libraries:
  - root: /media/movies/
    archive: /archive/movies
  - name: shows
    root: /media/shows
    archive: /archive/shows
    policy:
      video: { maxHeight: 1080 }
      audio: { keepLanguages: [jpn] }
`;
  it('fills every unset key from the schema defaults', () => {
    const config = parseQualityConfig(text, 'q.yaml');
    const movies = config.libraries[0]!;
    assert.equal(movies.root, '/media/movies');
    assert.equal(movies.name, '/media/movies/');
    assert.equal(movies.policy.video.codec, 'av1');
    assert.equal(movies.policy.video.quality.cpuCrf, 30);
    assert.equal(movies.policy.video.quality.nvencCq, 26);
    assert.equal(movies.policy.container, 'keep');
    assert.deepEqual(movies.policy.compliant.codecs, ['hevc', 'av1']);
  });

  it('a library override merges key by key over the global defaults; lists replace', () => {
    const shows = parseQualityConfig(text, 'q.yaml').libraries[1]!;
    assert.equal(shows.policy.video.codec, 'av1', 'inherited, not reset to the schema default');
    assert.equal(shows.policy.video.quality.cpuCrf, 30);
    assert.equal(shows.policy.video.maxHeight, 1080);
    assert.deepEqual(shows.policy.audio.keepLanguages, ['jpn']);
  });

  it('versions each library by its effective policy, independent of layout', () => {
    const config = parseQualityConfig(text, 'q.yaml');
    const [movies, shows] = config.libraries;
    assert.notEqual(movies!.policyVersion, shows!.policyVersion);
    const sameRules = parseQualityConfig(
      `version: 1
libraries:
  - root: /x
    archive: /y
    policy:
      audio: { keepLanguages: [eng, fre] }
      video: { quality: { cpuCrf: 30 }, codec: av1 }
`,
      'other.yaml',
    );
    assert.equal(sameRules.libraries[0]!.policyVersion, movies!.policyVersion);
    assert.equal(policyVersion(defaultQualityPolicy()), policyVersion(defaultQualityPolicy()));
  });
});

describe('invalid configuration names file, line, key and what was expected', () => {
  it('an unknown value', () => {
    const err = problem(`version: 1
libraries:
  - root: /m
    archive: /a
    policy:
      video:
        codec: vp9
`);
    assert.equal(err.line, 7);
    assert.equal(err.file, 'quality.yaml');
    assert.match(
      err.message,
      /^quality\.yaml:7: libraries\[0\]\.policy\.video\.codec: expected one of "hevc", "av1", "h264", got "vp9"$/,
    );
  });

  it('an unknown key lists the keys allowed there', () => {
    const err = problem(`version: 1
defaults:
  video:
    crf: 20
libraries: [{ root: /m, archive: /a }]
`);
    assert.match(
      err.message,
      /quality\.yaml:4: defaults\.video\.crf: unknown key; expected one of codec, quality, maxHeight, tenBit, hdr, dynamicHdr, deinterlace, keepChroma/,
    );
  });

  it('a number out of range', () => {
    const err = problem(`version: 1
defaults:
  guardrails:
    minSavingPercent: 150
libraries: [{ root: /m, archive: /a }]
`);
    assert.match(
      err.message,
      /:4: defaults\.guardrails\.minSavingPercent: must be <= 100, got 150/,
    );
  });

  it('a missing archive says what would do instead', () => {
    const err = problem(`version: 1
libraries:
  - root: /m
`);
    assert.match(
      err.message,
      /:3: libraries\[0\]\.archive: missing; expected an archive folder \(absolute path\) for the originals, or keepOriginals: true/,
    );
  });

  it('a relative path', () => {
    const err = problem(`version: 1
libraries:
  - root: media/movies
    archive: /a
`);
    assert.match(
      err.message,
      /:3: libraries\[0\]\.root: must match pattern "\^\/", got "media\/movies"/,
    );
  });

  it('an archive inside its library', () => {
    const err = problem(`version: 1
libraries:
  - root: /m
    archive: /m/archive
`);
    assert.match(
      err.message,
      /:4: libraries\[0\]\.archive: archive \/m\/archive overlaps library \/m/,
    );
  });

  it('a bad bit-rate class key', () => {
    const err = problem(`version: 1
defaults:
  compliant:
    maxBitrateKbps: { hd: 4000 }
libraries: [{ root: /m, archive: /a }]
`);
    assert.match(
      err.message,
      /defaults\.compliant\.maxBitrateKbps\.hd: expected a height in pixels/,
    );
  });

  it('several problems at once, in line order', () => {
    const err = problem(`version: 2
libraries:
  - root: /m
    archive: /a
    policy:
      container: avi
`);
    assert.match(
      err.message,
      /2 problems:\n {2}quality\.yaml:1: version: expected 1, got 2\n {2}quality\.yaml:6: /,
    );
    assert.equal(err.line, 1);
  });

  it('an empty file', () => {
    const err = problem('');
    assert.match(err.message, /quality\.yaml: \(top level\): .*must be object|missing/);
  });

  it('a YAML syntax error', () => {
    const err = problem('version: 1\nlibraries: [\n');
    assert.equal(err.code, 'CONFIG_SYNTAX');
  });

  it('a file that cannot be read', async () => {
    await assert.rejects(loadQualityConfig('/nonexistent/quality.yaml'), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.code, 'CONFIG_UNREADABLE');
      assert.match(err.message, /\/nonexistent\/quality\.yaml/);
      return true;
    });
  });
});

describe('library watching and originals', () => {
  it('reads include/exclude globs, extensions, polling, rescan and retention per library', () => {
    const config = parseQualityConfig(
      `version: 1
libraries:
  - root: /media/nas
    archive: /archive/nas
    deleteOriginalsAfterDays: 30
    watch:
      include: ['Movies/**']
      exclude: ['**/Extras/**']
      extensions: [mkv, .mp4]
      polling: true
      rescanMinutes: 60
  - root: /media/local
    archive: /archive/local
`,
      'q.yaml',
    );
    const [nas, local] = config.libraries;
    assert.deepEqual(nas!.watch, {
      include: ['Movies/**'],
      exclude: ['**/Extras/**'],
      extensions: ['mkv', '.mp4'],
      usePolling: true,
      rescanIntervalMs: 60 * 60_000,
    });
    assert.equal(nas!.deleteOriginalsAfterDays, 30);
    assert.deepEqual(local!.watch, { usePolling: false, rescanIntervalMs: 15 * 60_000 });
    assert.equal(local!.deleteOriginalsAfterDays, null);
  });

  it('reads keepMtime and workRetentionHours, with their defaults', () => {
    const config = parseQualityConfig(
      `version: 1
libraries:
  - root: /media/nas
    archive: /archive/nas
    keepMtime: true
    workRetentionHours: 6
  - root: /media/local
    archive: /archive/local
`,
      'q.yaml',
    );
    const [nas, local] = config.libraries;
    assert.equal(nas!.keepMtime, true);
    assert.equal(nas!.workRetentionHours, 6);
    assert.equal(local!.keepMtime, false);
    assert.equal(local!.workRetentionHours, 72);
  });

  it('names the line and key of a bad workRetentionHours', () => {
    const err = problem(`version: 1
libraries:
  - root: /media/nas
    archive: /archive/nas
    workRetentionHours: 0
`);
    assert.match(err.message, /quality\.yaml:5: libraries\[0\]\.workRetentionHours: must be >= 1/);
  });

  it('reads the planner parallelism per library; absent means one per core (null)', () => {
    const config = parseQualityConfig(
      `version: 1
libraries:
  - root: /media/nas
    archive: /archive/nas
    parallelism: 8
  - root: /media/local
    archive: /archive/local
`,
      'quality.yaml',
    );
    assert.deepEqual(
      config.libraries.map((l) => l.parallelism),
      [8, null],
    );
  });

  it('names the line, key and range of a bad parallelism', () => {
    const zero = problem(`version: 1
libraries:
  - root: /media/nas
    archive: /archive/nas
    parallelism: 0
`);
    assert.match(zero.message, /quality\.yaml:5: libraries\[0\]\.parallelism: must be >= 1, got 0/);
    const words = problem(`version: 1
libraries:
  - root: /media/nas
    archive: /archive/nas
    parallelism: four
`);
    assert.match(words.message, /quality\.yaml:5: libraries\[0\]\.parallelism: .*integer/);
  });

  it('names the line and key of a bad watch setting', () => {
    const err = problem(`version: 1
libraries:
  - root: /media/nas
    archive: /archive/nas
    watch:
      polling: sometimes
`);
    assert.match(err.message, /quality\.yaml:6: .*polling/);
  });
});
