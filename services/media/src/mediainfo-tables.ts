// MediaInfoLib's names → ffprobe's, one to one; what is not listed goes to ffprobe.

/** MediaInfo's container format → ffprobe's format_name. MPEG-TS is left to ffprobe. */
export const CONTAINERS: Record<string, string> = {
  Matroska: 'matroska,webm',
  WebM: 'matroska,webm',
  'MPEG-4': 'mov,mp4,m4a,3gp,3g2,mj2',
  AVI: 'avi',
};

// Only values with one ffprobe name: BT.601's matrix is smpte170m or bt470bg to ffprobe.
export const TRANSFERS: Record<string, string> = { 'BT.709': 'bt709' };

export const PRIMARIES: Record<string, string> = {
  'BT.709': 'bt709',
  'BT.601 NTSC': 'smpte170m',
  'BT.601 PAL': 'bt470bg',
};

export const MATRICES: Record<string, string> = { 'BT.709': 'bt709' };

export const SUBTITLE_CODECS: Record<string, string> = {
  'UTF-8': 'subrip',
  ASS: 'ass',
  SSA: 'ssa',
  PGS: 'hdmv_pgs_subtitle',
  VobSub: 'dvd_subtitle',
  'Timed Text': 'mov_text',
  WebVTT: 'webvtt',
};

/** MediaInfo's channel layout → ffmpeg's layout name. */
export const CHANNEL_LAYOUTS: Record<string, string> = {
  M: 'mono',
  C: 'mono',
  'L R': 'stereo',
  'L R C': '3.0',
  'C L R': '3.0',
  'L R C LFE': '3.1',
  'L R C Ls Rs': '5.0(side)',
  'L R C LFE Ls Rs': '5.1(side)',
  'L R C LFE Lb Rb': '5.1',
  'C L R Ls Rs': '5.0',
  'C L R Ls Rs LFE': '5.1',
  'L R C LFE Lb Rb Ls Rs': '7.1',
  'C L R Ls Rs Lb Rb LFE': '7.1',
};

export const LANGUAGES: Record<string, string> = {
  en: 'eng',
  es: 'spa',
  it: 'ita',
  ja: 'jpn',
  pt: 'por',
  ru: 'rus',
  ko: 'kor',
  pl: 'pol',
  sv: 'swe',
  da: 'dan',
  fi: 'fin',
  no: 'nor',
  nb: 'nob',
  hu: 'hun',
  tr: 'tur',
  ar: 'ara',
  he: 'heb',
  hi: 'hin',
  th: 'tha',
  vi: 'vie',
  uk: 'ukr',
  bg: 'bul',
  hr: 'hrv',
  sr: 'srp',
  et: 'est',
  lv: 'lav',
  lt: 'lit',
  ca: 'cat',
  id: 'ind',
  ta: 'tam',
  te: 'tel',
};
