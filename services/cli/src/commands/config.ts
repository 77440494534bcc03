import { resolve } from 'node:path';
import type { Command } from 'commander';
import {
  ConfigError,
  DEFAULT_QUALITY_CONFIG_PATH,
  loadQualityConfig,
  type QualityConfig,
} from '@conform/config';
import { CliError } from '../errors.js';

/** Loads a quality.yaml, turning a {@link ConfigError} into a one-message CLI error (exit 1). */
export async function loadConfigOrFail(file: string): Promise<QualityConfig> {
  try {
    return await loadQualityConfig(resolve(file));
  } catch (err) {
    if (err instanceof ConfigError) {
      throw new CliError(err.code, `invalid configuration: ${err.message}`, { cause: err });
    }
    throw err;
  }
}

/** Registers `conform config validate`. */
export function register(program: Command): void {
  const config = program.command('config').description('check the quality policy file');
  config
    .command('validate')
    .description('validate a quality.yaml against its JSON Schema; exits non-zero when invalid')
    .argument('[file]', 'the file to check', DEFAULT_QUALITY_CONFIG_PATH)
    .option('--json', 'print { file, valid, libraries: [{ name, root, codec, policyVersion }] }')
    .action(async (file: string, flags: { json?: boolean }) => {
      const loaded = await loadConfigOrFail(file);
      if (flags.json) {
        const libraries = loaded.libraries.map((lib) => ({
          name: lib.name,
          root: lib.root,
          codec: lib.policy.video.codec,
          policyVersion: lib.policyVersion,
          archive: lib.keepOriginals ? null : lib.archive,
        }));
        process.stdout.write(
          `${JSON.stringify({ file: loaded.file, valid: true, libraries }, null, 2)}\n`,
        );
        return;
      }
      const out = [`${loaded.file}: valid`];
      for (const lib of loaded.libraries) {
        out.push(
          `  ${lib.name}: ${lib.root} → ${lib.policy.video.codec}, policy ${lib.policyVersion}` +
            (lib.keepOriginals ? ', originals kept in place' : `, archive ${lib.archive}`),
        );
      }
      process.stdout.write(out.join('\n') + '\n');
    });
}
