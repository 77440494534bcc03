import { Type, type Static, type TSchema } from '@sinclair/typebox';

// The one definition of quality.yaml: every key, its type, default and description, written
// with TypeBox (plain JSON Schema, draft-07) so the loader's input types are derived from it.
// `quality.schema.json` is generated from this (`npm run schema`; config/test/schema.test.ts
// fails while the two differ): editors read it through `$schema`, the config guide through
// `npm run docs`. To add a key, add it here with a `description`, then regenerate both.

/** `{ $ref: '#/definitions/<name>' }`, typed as the definition it points to. */
function ref<T extends TSchema>(
  name: string,
  _definition: T,
  options: Record<string, unknown> = {},
) {
  return Type.Unsafe<Static<T>>({ $ref: `#/definitions/${name}`, ...options });
}

export const AudioSchema = Type.Object(
  {
    keepLanguages: Type.Optional(
      Type.Array(Type.String({ pattern: '^[a-z]{2,3}$' }), {
        default: [],
        description:
          'ISO 639 codes of tracks to keep (plus untagged ones); empty keeps all. At least one track is always kept.',
      }),
    ),
    allowedCodecs: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        default: [],
        description:
          'Codecs copied as they are; tracks in other codecs are re-encoded. Empty copies everything.',
      }),
    ),
    reencode: Type.Optional(
      Type.Object(
        {
          codec: Type.Optional(
            Type.Unsafe<'aac' | 'ac3' | 'eac3' | 'opus'>({
              enum: ['aac', 'ac3', 'eac3', 'opus'],
              default: 'aac',
              description: 'Codec of re-encoded tracks.',
            }),
          ),
          bitrateKbps: Type.Optional(
            Type.Integer({
              minimum: 32,
              maximum: 1536,
              default: 192,
              description: 'Bit rate of re-encoded tracks, in kbit/s.',
            }),
          ),
        },
        {
          additionalProperties: false,
          default: {},
          description: 'What tracks in a codec outside allowedCodecs are re-encoded to.',
        },
      ),
    ),
    lossless: Type.Optional(
      Type.Object(
        {
          convert: Type.Optional(
            Type.Boolean({ default: false, description: 'Turn the rule on.' }),
          ),
          codec: Type.Optional(
            Type.Unsafe<'eac3' | 'ac3' | 'opus' | 'aac'>({
              enum: ['eac3', 'ac3', 'opus', 'aac'],
              default: 'eac3',
              description: 'Codec the lossless tracks are converted to.',
            }),
          ),
          bitrateKbps: Type.Optional(
            Type.Integer({
              minimum: 32,
              maximum: 1536,
              default: 640,
              description: 'Bit rate of converted tracks, in kbit/s.',
            }),
          ),
          languages: Type.Optional(
            Type.Array(Type.String({ pattern: '^[a-z]{2,3}$' }), {
              default: [],
              description: 'Convert tracks in these languages only; empty converts every language.',
            }),
          ),
          keepOriginalLanguage: Type.Optional(
            Type.Boolean({
              default: true,
              description:
                'Leave the original-language tracks (the language of the first audio track) lossless.',
            }),
          ),
          minBitrateKbps: Type.Optional(
            Type.Integer({
              minimum: 1,
              default: 2000,
              description: 'Tracks of a lossy codec count as very high bit rate from this rate on.',
            }),
          ),
        },
        {
          additionalProperties: false,
          default: {},
          description:
            'Optional: convert lossless or very high bit-rate tracks (TrueHD, DTS-HD MA, FLAC, PCM, ALAC) to a named codec, so files whose size is their audio get smaller.',
        },
      ),
    ),
  },
  {
    additionalProperties: false,
    description: 'Which audio tracks are kept, copied or re-encoded.',
  },
);

export const CompliantSchema = Type.Object(
  {
    codecs: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        default: ['hevc', 'av1'],
        description: 'Video codecs (ffprobe names) that count as compliant.',
      }),
    ),
    maxBitrateKbps: Type.Optional(
      Type.Unsafe<Record<string, number>>({
        type: 'object',
        propertyNames: { pattern: '^[0-9]+$' },
        additionalProperties: { type: 'integer', minimum: 1 },
        default: {},
        description:
          'Bit-rate ceiling (kbit/s) per resolution class keyed by height, e.g. {"1080": 8000}. A compliant-codec file above its ceiling is re-encoded.',
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'When a file is already good enough to leave alone.',
  },
);

export const GuardrailsSchema = Type.Object(
  {
    minSavingPercent: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 100,
        default: 0,
        description: 'Skip a file when the estimated saving is below this share of its size.',
      }),
    ),
    maxOutputRatio: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 10,
        default: 1,
        description:
          'Largest acceptable output/input size ratio; the verifier rejects bigger outputs.',
      }),
    ),
    minFreeDiskGB: Type.Optional(
      Type.Number({
        minimum: 0,
        default: 0,
        description:
          "Free space an encode needs on the library's filesystem at least; otherwise the estimated output + 10 %. The encoder waits (paused for low disk) until there is that much.",
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'Limits that keep conform from work that does not pay or from filling the disk.',
  },
);

export const HealthSchema = Type.Object(
  {
    check: Type.Optional(
      Type.Unsafe<'quick' | 'full' | 'off'>({
        enum: ['quick', 'full', 'off'],
        default: 'quick',
        description:
          'quick: decode the first and last 30 s and a sample in the middle. full: decode the whole file (slow on long files). off: no check.',
      }),
    ),
    maxErrors: Type.Optional(
      Type.Integer({
        minimum: 0,
        default: 0,
        description:
          'Decoder error lines tolerated before a source counts as damaged (broadcast recordings often start with a few).',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'The decode health check a source must pass before it is encoded; a source that fails is marked damaged and left alone.',
  },
);

export const MinimumSchema = Type.Object(
  {
    sizeMB: Type.Optional(
      Type.Number({
        minimum: 0,
        default: 0,
        description: 'Files below this size in MB are skipped (0: no minimum).',
      }),
    ),
    durationSec: Type.Optional(
      Type.Number({
        minimum: 0,
        default: 0,
        description: 'Files shorter than this many seconds are skipped (0: no minimum).',
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'Files smaller or shorter than this are not worth encoding.',
  },
);

export const StreamsSchema = Type.Object(
  {
    coverArt: Type.Optional(
      Type.Unsafe<'keep' | 'drop'>({
        enum: ['keep', 'drop'],
        default: 'keep',
        description:
          'Attached pictures (cover art): copied (in mkv as an image attachment), or dropped.',
      }),
    ),
    attachments: Type.Optional(
      Type.Unsafe<'keep' | 'drop'>({
        enum: ['keep', 'drop'],
        default: 'keep',
        description:
          'Attachments such as the fonts of styled subtitles: copied (the output is mkv, the only container that holds them), or dropped.',
      }),
    ),
    chapters: Type.Optional(
      Type.Unsafe<'keep' | 'drop'>({
        enum: ['keep', 'drop'],
        default: 'keep',
        description: 'Chapter marks: copied, or dropped.',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'What happens to the streams besides video, audio and subtitles. Data streams (e.g. a QuickTime timecode track) cannot be carried by mkv or mp4 and are always dropped, the start timecode kept as a tag.',
  },
);

export const SubtitlesSchema = Type.Object(
  {
    keepLanguages: Type.Optional(
      Type.Array(Type.String({ pattern: '^[a-z]{2,3}$' }), {
        default: [],
        description: 'ISO 639 codes of tracks to keep (plus untagged ones); empty keeps all.',
      }),
    ),
    imageSubtitlesInMp4: Type.Optional(
      Type.Unsafe<'mkv' | 'skip'>({
        enum: ['mkv', 'skip'],
        default: 'mkv',
        description:
          'mp4 cannot carry image subtitles (PGS, VobSub, DVB): switch that file to mkv, or skip it. They are never dropped silently.',
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'Which subtitle tracks are kept and how image subtitles are handled in mp4.',
  },
);

export const QualitySchema = Type.Object(
  {
    nvencCq: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 51, default: 26, description: 'NVENC -cq.' }),
    ),
    cpuCrf: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 63,
        default: 24,
        description: 'libx265/libx264 -crf, libsvtav1 -crf.',
      }),
    ),
    qsvQuality: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 51, default: 25, description: 'QSV -global_quality.' }),
    ),
    vaapiQp: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 255, default: 25, description: 'VAAPI -qp.' }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'Constant-quality level per encoder family; lower is better quality and bigger files.',
  },
);

export const VideoSchema = Type.Object(
  {
    codec: Type.Optional(
      Type.Unsafe<'hevc' | 'av1' | 'h264'>({
        enum: ['hevc', 'av1', 'h264'],
        default: 'hevc',
        description: 'Target video codec.',
      }),
    ),
    quality: Type.Optional(ref('quality', QualitySchema, { default: {} })),
    maxHeight: Type.Optional(
      Type.Unsafe<number | null>({
        type: ['integer', 'null'],
        minimum: 144,
        default: null,
        description:
          'Largest output height in pixels (e.g. 1080). Taller video is downscaled; nothing is ever upscaled. null: keep the source size.',
      }),
    ),
    tenBit: Type.Optional(
      Type.Boolean({
        default: false,
        description: 'Encode 10-bit output (always on for HDR that is kept).',
      }),
    ),
    hdr: Type.Optional(
      Type.Unsafe<'keep' | 'skip'>({
        enum: ['keep', 'skip'],
        default: 'keep',
        description:
          'keep: encode HDR files keeping their HDR10 colour metadata (10-bit). skip: leave HDR files alone.',
      }),
    ),
    dynamicHdr: Type.Optional(
      Type.Unsafe<'skip' | 'baseLayer'>({
        enum: ['skip', 'baseLayer'],
        default: 'skip',
        description:
          'HDR10+ and Dolby Vision sources: skip leaves them alone (a re-encode loses the dynamic metadata); baseLayer encodes them as HDR10, keeping only the static base layer.',
      }),
    ),
    deinterlace: Type.Optional(
      Type.Unsafe<'auto' | 'always' | 'never'>({
        enum: ['auto', 'always', 'never'],
        default: 'auto',
        description:
          'auto: deinterlace (bwdif) sources whose field order, or an idet sample where it says nothing, shows interlacing. always: deinterlace every encode. never: encode the fields as they are. Deinterlaced output is progressive.',
      }),
    ),
    keepChroma: Type.Optional(
      Type.Boolean({
        default: false,
        description:
          'Keep 4:2:2 and 4:4:4 chroma where the target encoder supports it. false: output 4:2:0, which every player decodes.',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'The target video stream: codec, quality, size, bit depth, HDR and interlacing handling.',
  },
);

export const PolicySchema = Type.Object(
  {
    video: Type.Optional(ref('video', VideoSchema, { default: {} })),
    compliant: Type.Optional(ref('compliant', CompliantSchema, { default: {} })),
    audio: Type.Optional(ref('audio', AudioSchema, { default: {} })),
    subtitles: Type.Optional(ref('subtitles', SubtitlesSchema, { default: {} })),
    container: Type.Optional(
      Type.Unsafe<'mkv' | 'mp4' | 'keep'>({
        enum: ['mkv', 'mp4', 'keep'],
        default: 'keep',
        description:
          'Output container; `keep` keeps mp4-family sources in mp4 and puts everything else in mkv.',
      }),
    ),
    minimum: Type.Optional(ref('minimum', MinimumSchema, { default: {} })),
    exclude: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        default: [],
        description:
          'Globs matched against the path relative to the library (`*`, `**`, `?`). Matching files are skipped.',
      }),
    ),
    guardrails: Type.Optional(ref('guardrails', GuardrailsSchema, { default: {} })),
    health: Type.Optional(ref('health', HealthSchema, { default: {} })),
    holdNewFilesMinutes: Type.Optional(
      Type.Number({
        minimum: 0,
        description:
          'Leave files modified less than this many minutes ago alone (an *arr app may still rename or replace a fresh import); they are planned when the hold ends. Absent: no hold.',
      }),
    ),
    streams: Type.Optional(ref('streams', StreamsSchema, { default: {} })),
  },
  { additionalProperties: false, description: 'What to do with the files of a library.' },
);

export const QueueOrderSchema = Type.Unsafe<
  'smallest' | 'largest' | 'oldest' | 'newest' | 'biggest-saving'
>({
  enum: ['smallest', 'largest', 'oldest', 'newest', 'biggest-saving'],
  description:
    "The order this library's files are queued for encoding within each planning batch: by size, by modification time, or by the estimated bytes saved (docs/integrations.md). Absent: as discovered.",
});

export const QueuePrioritySchema = Type.Integer({
  minimum: -100,
  maximum: 100,
  default: 0,
  description: 'Libraries with a higher priority are queued first within each planning batch.',
});

export const LibrarySchema = Type.Object(
  {
    name: Type.Optional(
      Type.String({ minLength: 1, description: 'A label for logs and the status page.' }),
    ),
    root: Type.String({ pattern: '^/', description: 'Absolute path of the library folder.' }),
    archive: Type.Optional(
      Type.String({
        pattern: '^/',
        description:
          'Absolute path where originals are moved before a file is replaced. Required unless keepOriginals is true.',
      }),
    ),
    keepOriginals: Type.Optional(
      Type.Boolean({
        default: false,
        description:
          'Leave the original in place and write the new file beside it instead of archiving the original.',
      }),
    ),
    policy: Type.Optional(
      ref('policy', PolicySchema, { description: 'Overrides of `defaults` for this library.' }),
    ),
    keepMtime: Type.Optional(
      Type.Boolean({
        default: false,
        description:
          "Give a replacement the original's modification time too (mode, owner and group are always kept).",
      }),
    ),
    workRetentionHours: Type.Optional(
      Type.Integer({
        minimum: 1,
        default: 72,
        description:
          'Hours after which leftovers of failed swaps and verifications are removed: outputs in .conform-work, and archive copies of originals still in place (only when byte-identical). See `conform clean`.',
      }),
    ),
    deleteOriginalsAfterDays: Type.Optional(
      Type.Integer({
        minimum: 1,
        description:
          'Opt-in: delete an archived original this many days after its replacement (never while it could still be restored from a newer swap). Absent: originals stay in the archive.',
      }),
    ),
    watch: Type.Optional(
      Type.Object(
        {
          include: Type.Optional(
            Type.Array(Type.String({ minLength: 1 }), {
              description:
                'Globs relative to the library root; when given, only matching files are considered (e.g. Movies/**).',
            }),
          ),
          exclude: Type.Optional(
            Type.Array(Type.String({ minLength: 1 }), {
              description:
                'Globs relative to the library root that are never considered (e.g. **/Extras/**).',
            }),
          ),
          extensions: Type.Optional(
            Type.Array(Type.String({ pattern: '^\\.?[A-Za-z0-9]+$' }), {
              minItems: 1,
              description:
                'Video file extensions to consider (default: mkv mp4 m4v mov avi ts m2ts wmv webm mpg mpeg flv).',
            }),
          ),
          polling: Type.Optional(
            Type.Boolean({
              default: false,
              description:
                'Poll instead of using inotify: for SMB/NFS mounts, where change events do not arrive.',
            }),
          ),
          rescanMinutes: Type.Optional(
            Type.Integer({
              minimum: 0,
              default: 15,
              description:
                'Walk the whole library this often to catch anything the live watch missed; 0 turns it off.',
            }),
          ),
        },
        {
          additionalProperties: false,
          description: 'Which files of this library are watched, and how.',
        },
      ),
    ),
    order: Type.Optional(ref('queueOrder', QueueOrderSchema)),
    priority: Type.Optional(ref('queuePriority', QueuePrioritySchema)),
    parallelism: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 64,
        description:
          'Files of this library the planner probes at once (ffprobe, and the idet sample and health check of files to encode). Absent: one per CPU core. Lower it for a NAS share that slows down under parallel reads; raise it for one where network latency, not throughput, is the limit.',
      }),
    ),
  },
  {
    additionalProperties: false,
    if: { not: { properties: { keepOriginals: { const: true } }, required: ['keepOriginals'] } },
    then: {
      required: ['archive'],
      properties: {
        archive: {
          description:
            'an archive folder (absolute path) for the originals, or keepOriginals: true',
        },
      },
    },
  },
);

/** A server's `pathMap`: conform's folders as that server sees them (*arr apps and media servers alike). */
function pathMapSchema() {
  return Type.Array(
    Type.Object(
      {
        from: Type.String({
          pattern: '^/',
          description: 'A folder as conform sees it (absolute path).',
        }),
        to: Type.String({
          pattern: '^/',
          description: 'The same folder as this server sees it.',
        }),
      },
      { additionalProperties: false },
    ),
    {
      default: [],
      description:
        "How conform's paths map to this server's (containers mount the same folder at different places); the longest matching prefix wins.",
    },
  );
}

export const IntegrationArrSchema = Type.Object(
  {
    name: Type.String({
      pattern: '^[a-z0-9][a-z0-9-]{0,31}$',
      description: 'A short name for logs, events and consumers (lower case letters, digits, -).',
    }),
    kind: Type.Unsafe<'sonarr' | 'radarr'>({
      enum: ['sonarr', 'radarr'],
      description: 'Sonarr (series) or Radarr (movies), API v3.',
    }),
    url: Type.String({
      pattern: '^https?://',
      description: 'Base URL of the server, e.g. http://jellyfin:8096.',
    }),
    apiKeyEnv: Type.String({
      pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
      description: 'Name of the environment variable holding the X-Api-Key (Settings > General).',
    }),
    pathMap: Type.Optional(pathMapSchema()),
  },
  { additionalProperties: false },
);

export const IntegrationMediaServerSchema = Type.Object(
  {
    name: Type.String({
      pattern: '^[a-z0-9][a-z0-9-]{0,31}$',
      description: 'A short name for logs, events and consumers (lower case letters, digits, -).',
    }),
    kind: Type.Unsafe<'jellyfin' | 'emby' | 'plex'>({
      enum: ['jellyfin', 'emby', 'plex'],
      description: 'Which media server this is.',
    }),
    url: Type.String({
      pattern: '^https?://',
      description: 'Base URL of the server, e.g. http://jellyfin:8096.',
    }),
    apiKeyEnv: Type.String({
      pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
      description:
        'Name of the environment variable holding the API key (Jellyfin/Emby) or X-Plex-Token (Plex); the key itself never goes in this file.',
    }),
    pathMap: Type.Optional(pathMapSchema()),
  },
  { additionalProperties: false },
);

export const IntegrationNotificationSchema = Type.Object(
  {
    name: Type.String({
      pattern: '^[a-z0-9][a-z0-9-]{0,31}$',
      description: 'A short name for logs, events and consumers (lower case letters, digits, -).',
    }),
    kind: Type.Unsafe<'webhook' | 'apprise'>({
      enum: ['webhook', 'apprise'],
      description: 'webhook: a JSON POST signed with HMAC-SHA256; apprise: the Apprise API server.',
    }),
    url: Type.String({
      pattern: '^https?://',
      description:
        'webhook: the URL to POST to; apprise: the Apprise API base URL, e.g. http://apprise:8000.',
    }),
    secretEnv: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
        description:
          'webhook: environment variable holding the HMAC key; the X-Conform-Signature header carries sha256=<hex> of the body.',
      }),
    ),
    urlsEnv: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
        description:
          'apprise: environment variable holding the Apprise URLs (stateless POST /notify/), e.g. discord://id/token.',
      }),
    ),
    key: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9_-]{1,64}$',
        description:
          'apprise: a configuration key saved on the Apprise API server (POST /notify/{key}) instead of urlsEnv.',
      }),
    ),
    tag: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'apprise with key: only notify the URLs with this tag.',
      }),
    ),
    events: Type.Optional(
      Type.Array(
        Type.Unsafe<'replaced' | 'failed' | 'deadlettered' | 'summary'>({
          enum: ['replaced', 'failed', 'deadlettered', 'summary'],
        }),
        {
          minItems: 1,
          uniqueItems: true,
          default: ['replaced', 'failed', 'deadlettered'],
          description:
            'Which events are sent: replaced, failed (encode, verify, replace, restore), deadlettered, summary (daily).',
        },
      ),
    ),
    templates: Type.Optional(
      Type.Object(
        {
          replaced: Type.Optional(
            Type.Object(
              {
                title: Type.Optional(
                  Type.String({ minLength: 1, description: 'Title line (templated).' }),
                ),
                body: Type.Optional(
                  Type.String({ minLength: 1, description: 'Message body (templated).' }),
                ),
              },
              { additionalProperties: false, description: 'Message for a replaced file.' },
            ),
          ),
          failed: Type.Optional(
            Type.Object(
              {
                title: Type.Optional(
                  Type.String({ minLength: 1, description: 'Title line (templated).' }),
                ),
                body: Type.Optional(
                  Type.String({ minLength: 1, description: 'Message body (templated).' }),
                ),
              },
              {
                additionalProperties: false,
                description: 'Message for a failed encode, verification, swap or restore.',
              },
            ),
          ),
          deadlettered: Type.Optional(
            Type.Object(
              {
                title: Type.Optional(
                  Type.String({ minLength: 1, description: 'Title line (templated).' }),
                ),
                body: Type.Optional(
                  Type.String({ minLength: 1, description: 'Message body (templated).' }),
                ),
              },
              { additionalProperties: false, description: 'Message for a dead-lettered job.' },
            ),
          ),
          summary: Type.Optional(
            Type.Object(
              {
                title: Type.Optional(
                  Type.String({ minLength: 1, description: 'Title line (templated).' }),
                ),
                body: Type.Optional(
                  Type.String({ minLength: 1, description: 'Message body (templated).' }),
                ),
              },
              { additionalProperties: false, description: 'Message of the daily summary.' },
            ),
          ),
        },
        {
          additionalProperties: false,
          description:
            'Message templates per event; {{file}}, {{path}}, {{library}}, {{saved}}, {{bytesSaved}}, {{reason}}, {{event}} and (summary) {{replaced}}, {{failed}}, {{day}} are filled in.',
        },
      ),
    ),
  },
  { additionalProperties: false },
);

export const IntegrationPlaybackSchema = Type.Object(
  {
    servers: Type.Array(
      Type.String({
        pattern: '^[a-z0-9][a-z0-9-]{0,31}$',
        description: 'A short name for logs, events and consumers (lower case letters, digits, -).',
      }),
      { minItems: 1, description: 'Names of mediaServers whose sessions are polled.' },
    ),
    graceMinutes: Type.Optional(
      Type.Number({
        minimum: 0,
        default: 5,
        description: 'Resume this long after the last playback ended.',
      }),
    ),
    pollSeconds: Type.Optional(
      Type.Number({ minimum: 1, default: 30, description: 'How often the sessions are polled.' }),
    ),
  },
  {
    additionalProperties: false,
    description: 'Pause every encoder while one of these media servers reports playback.',
  },
);

export const IntegrationsSchema = Type.Object(
  {
    timeoutSeconds: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 300,
        default: 10,
        description: 'How long one request to an integration may take before it counts as failed.',
      }),
    ),
    batchSeconds: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 300,
        default: 2,
        description: 'Changes arriving within this long are sent to a server as one request.',
      }),
    ),
    batchMax: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 256,
        default: 16,
        description: 'Most files in one batched request.',
      }),
    ),
    mediaServers: Type.Optional(
      Type.Array(ref('integrationMediaServer', IntegrationMediaServerSchema), {
        default: [],
        description:
          'Plex, Jellyfin or Emby servers whose library is refreshed for the folder of each replaced or restored file.',
      }),
    ),
    arr: Type.Optional(
      Type.Array(ref('integrationArr', IntegrationArrSchema), {
        default: [],
        description:
          'Sonarr or Radarr instances told to rescan the series or movie of each replaced or restored file.',
      }),
    ),
    notifications: Type.Optional(
      Type.Array(ref('integrationNotification', IntegrationNotificationSchema), {
        default: [],
        description:
          'Webhooks, Apprise, ntfy and the like told about replacements, failures, dead letters and the daily summary.',
      }),
    ),
    summary: Type.Optional(
      Type.Object(
        {
          at: Type.String({
            pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$',
            description: 'Local time HH:MM the daily summary is sent.',
          }),
        },
        {
          additionalProperties: false,
          description: 'A daily summary to every notification that lists `summary` in its events.',
        },
      ),
    ),
    pauseWhilePlaying: Type.Optional(ref('integrationPlayback', IntegrationPlaybackSchema)),
  },
  { additionalProperties: false },
);

export const QualityFileSchema = Type.Object(
  {
    $schema: Type.Optional(
      Type.String({ description: 'Path or URL of this schema, for editors.' }),
    ),
    version: Type.Unsafe<1>({ const: 1, description: 'Version of this file format.' }),
    defaults: Type.Optional(
      ref('policy', PolicySchema, {
        default: {},
        description:
          'The policy every library starts from; libraries[].policy overrides it key by key.',
      }),
    ),
    libraries: Type.Array(ref('library', LibrarySchema), {
      minItems: 1,
      description:
        'The library folders conform watches, each with its archive and optional policy overrides. At least one.',
    }),
    integrations: Type.Optional(
      ref('integrations', IntegrationsSchema, {
        description:
          'Media servers to refresh, *arr apps to rescan, notifications to send, and pausing while someone watches (docs/integrations.md).',
      }),
    ),
  },
  {
    ...{
      $schema: 'http://json-schema.org/draft-07/schema#',
      $id: 'https://conform.dev/schemas/quality.schema.json',
      title: 'conform quality policy',
      description:
        "What conform's planner encodes, skips or leaves alone. Global `defaults`, overridden per library under `libraries[].policy`.",
    },
    additionalProperties: false,
    definitions: {
      library: LibrarySchema,
      policy: PolicySchema,
      video: VideoSchema,
      quality: QualitySchema,
      compliant: CompliantSchema,
      audio: AudioSchema,
      subtitles: SubtitlesSchema,
      minimum: MinimumSchema,
      streams: StreamsSchema,
      health: HealthSchema,
      guardrails: GuardrailsSchema,
      integrations: IntegrationsSchema,
      integrationMediaServer: IntegrationMediaServerSchema,
      integrationArr: IntegrationArrSchema,
      integrationNotification: IntegrationNotificationSchema,
      integrationPlayback: IntegrationPlaybackSchema,
      queueOrder: QueueOrderSchema,
      queuePriority: QueuePrioritySchema,
    },
  },
);
