#!/usr/bin/env node
// Runs one workspace's compiled tests with node's test runner: spec output to the terminal,
// TAP to .test-results/ so scripts/run-tests.mjs can add up passes and failures.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const name = JSON.parse(readFileSync('package.json', 'utf8')).name.replace(/^@conform\//, '');
const results = join(root, '.test-results');
mkdirSync(results, { recursive: true });
if (!existsSync('dist/test')) {
  console.error(`${name}: no compiled tests in dist/test (run the build first)`);
  process.exit(1);
}
const r = spawnSync(
  process.execPath,
  [
    '--test',
    '--test-concurrency=2',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${join(results, `${name}.tap`)}`,
    'dist/test/',
  ],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
