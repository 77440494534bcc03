import type { EncodeTarget, StreamPlan, VerificationCheck } from '@conform/contracts';
import type { FactStream, MediaFacts } from './facts.js';

// The output is held to the plan's stream layout: every stream the plan keeps is there, in
// order within its kind, with its language, codec, attachment name, title and dispositions.

type Kind = FactStream['kind'];
const KINDS: readonly Kind[] = ['audio', 'subtitle', 'cover', 'attachment'];

/** What one kept stream must look like in the output. */
interface Expected {
  kind: Kind;
  language: string;
  /** Null: not compared (cover art is re-encoded to PNG for mkv). */
  codec: string | null;
  filename: string | null;
  title: string | null;
  default: boolean;
  forced: boolean;
}

/** What the plan says the output holds besides the main video, per kind, in order. Pure. */
export function expectedStreams(source: MediaFacts, target: EncodeTarget): Expected[] {
  const plans = new Map<number, StreamPlan>((target.streams ?? []).map((p) => [p.index, p]));
  return source.streams.flatMap((s): Expected[] => {
    const plan = plans.get(s.index);
    if (!plan || plan.action === 'drop') return [];
    const codec =
      s.kind === 'cover' ? null : plan.action === 'convert' && plan.codec ? plan.codec : s.codec;
    return [
      {
        kind: s.kind,
        language: s.language,
        codec,
        // The cover attached to an mkv is named by conform (cover.png).
        filename: s.kind === 'attachment' ? s.filename : null,
        title: s.title,
        default: s.default,
        forced: s.forced,
      },
    ];
  });
}

function describe(kind: Kind, s: Pick<Expected, 'language' | 'codec' | 'filename'>): string {
  const parts = [
    s.codec,
    kind === 'audio' || kind === 'subtitle' ? s.language : null,
    kind === 'attachment' ? s.filename : null,
  ];
  return `${kind}(${parts.filter(Boolean).join(' ')})`;
}

/**
 * The stream plan checks: `streams` (kinds, codecs, languages, attachment names, in order per
 * kind; nothing the plan keeps missing, nothing extra), `stream-titles` and `dispositions`
 * (mkv, where both survive a remux: default and forced flags), `chapters` and `timecode`. Pure.
 */
export function streamPlanChecks(
  source: MediaFacts,
  output: MediaFacts,
  target: EncodeTarget,
): VerificationCheck[] {
  const expected = expectedStreams(source, target);
  const got = output.streams.filter((s) => KINDS.includes(s.kind));
  const layout = (
    list: Pick<Expected, 'kind' | 'language' | 'codec' | 'filename'>[],
    keepCodec: boolean[],
  ) =>
    KINDS.flatMap((k) =>
      list
        .map((s, i) => ({ s, i }))
        .filter(({ s }) => s.kind === k)
        .map(({ s, i }) => describe(k, { ...s, codec: keepCodec[i] ? s.codec : null })),
    ).join(', ') || 'none';
  const wantLayout = layout(
    expected,
    expected.map((e) => e.codec !== null),
  );
  // Compare output codecs only where the plan fixes them: line the output up kind by kind.
  const byKind = (k: Kind) => got.filter((s) => s.kind === k);
  const aligned: (FactStream | undefined)[] = expected.map((e) => {
    const sameKind = expected.filter((x) => x.kind === e.kind);
    return byKind(e.kind)[sameKind.indexOf(e)];
  });
  const gotLayout = layout(
    got,
    got.map((g) => {
      const at = aligned.indexOf(g);
      return at === -1 || expected[at]!.codec !== null;
    }),
  );
  const checks: VerificationCheck[] = [
    { name: 'streams', passed: gotLayout === wantLayout, measured: gotLayout, limit: wantLayout },
  ];
  if (target.container === 'mkv') {
    const titles = (list: (Pick<Expected, 'title'> | undefined)[]) =>
      list.map((s) => s?.title ?? '-').join(', ') || 'none';
    const flags = (list: (Pick<Expected, 'default' | 'forced'> | undefined)[]) =>
      list
        .map((s) =>
          s
            ? [s.default ? 'default' : '', s.forced ? 'forced' : ''].filter(Boolean).join('+') ||
              '-'
            : 'missing',
        )
        .join(', ') || 'none';
    const titled = expected.filter((e) => e.kind === 'audio' || e.kind === 'subtitle');
    const titledOut = aligned.filter(
      (_, i) => expected[i]!.kind === 'audio' || expected[i]!.kind === 'subtitle',
    );
    checks.push(
      {
        name: 'stream-titles',
        passed: titles(titledOut) === titles(titled),
        measured: titles(titledOut),
        limit: titles(titled),
      },
      {
        name: 'dispositions',
        passed: flags(titledOut) === flags(titled),
        measured: flags(titledOut),
        limit: flags(titled),
      },
    );
  }
  const wantChapters = target.chapters === 'drop' ? 0 : source.chapters;
  checks.push({
    name: 'chapters',
    passed: output.chapters === wantChapters,
    measured: output.chapters,
    limit: wantChapters,
  });
  if (source.timecode) {
    checks.push({
      name: 'timecode',
      passed: output.timecode === source.timecode,
      measured: output.timecode,
      limit: source.timecode,
    });
  }
  return checks;
}
