export * from './errors.js';
export * from './probe.js';
export * from './progress.js';
export * from './ffmpeg.js';
export * from './clip.js';
export * from './encoders.js';
export * from './colour.js';
export * from './testing.js';
export * from './health.js';
export * from './interlace.js';
export * from './packets.js';
export * from './mediainfo-map.js';
export * from './inprocess.js';
export * from './priority.js';
export {
  runTool,
  startToolHelper,
  toolHelperPid,
  type RunToolOptions,
  type StderrMode,
  type ToolResult,
} from './spawner.js';
