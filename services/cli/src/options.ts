import { Option } from 'commander';

// The flags that fall back to an environment variable, each defined once. commander reads the
// variable (`.env()`) when the flag is not given, so every command resolves the same way:
// flag > environment > the config file (where it names the setting) > default. `--help` shows
// each variable beside its flag.

/** The environment variable behind each flag that has one. */
export const FLAG_ENV = {
  nats: 'NATS_URL',
  natsWait: 'CONFORM_NATS_WAIT',
  stateDir: 'CONFORM_STATE_DIR',
  replicas: 'CONFORM_STREAM_REPLICAS',
  host: 'CONFORM_HOST',
  port: 'CONFORM_PORT',
  metricsPort: 'CONFORM_METRICS_PORT',
  slots: 'CONFORM_ENCODER_SLOTS',
  encoder: 'CONFORM_ENCODER',
  maxFileSize: 'CONFORM_MAX_FILE_SIZE',
  encodeNice: 'CONFORM_ENCODE_NICE',
  pathMap: 'CONFORM_PATH_MAP',
  config: 'CONFORM_CONFIG',
} as const;

/** `--nats <url>`, else NATS_URL. */
export function natsOption(description: string): Option {
  return new Option('--nats <url>', description).env(FLAG_ENV.nats);
}

/** `--state-dir <dir>`, else CONFORM_STATE_DIR (else the XDG default, see defaultStateDir). */
export function stateDirOption(description: string): Option {
  return new Option('--state-dir <dir>', description).env(FLAG_ENV.stateDir);
}

/** `--config <file>`, else CONFORM_CONFIG. */
export function configOption(description: string): Option {
  return new Option('--config <file>', description).env(FLAG_ENV.config);
}

/**
 * `--path-map FROM=TO`, repeatable; CONFORM_PATH_MAP holds the same entries comma-separated.
 * commander hands the variable's whole value to the parser as one entry, and a flag's entry may
 * itself contain a comma (a path can), so the split happens in {@link pathMapEntries}, by source.
 */
export function pathMapOption(description: string): Option {
  return new Option('--path-map <from=to>', description)
    .env(FLAG_ENV.pathMap)
    .argParser((entry: string, all: string[] = []) => [...all, entry]);
}

/** The `--path-map` entries of a parsed command: the flags as given, or the variable split. */
export function pathMapEntries(
  values: string[] | undefined,
  source: string | undefined,
): string[] | undefined {
  return source === 'env' ? values?.flatMap((v) => v.split(',')) : values;
}
