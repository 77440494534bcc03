#!/usr/bin/env node
// The whole test suite: turbo builds and tests every workspace, then this prints one
// closing line, "N passed, N failed", added up from each workspace's TAP summary.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const results = join(root, '.test-results');
rmSync(results, { recursive: true, force: true });

const turbo = spawnSync(
  'npx',
  ['turbo', 'run', 'test', '--concurrency=3', '--continue', ...process.argv.slice(2)],
  { cwd: root, stdio: 'inherit', env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' } },
);

let passed = 0;
let failed = 0;
let skipped = 0;
const perWorkspace = [];
const skippedNames = [];
if (existsSync(results)) {
  for (const file of readdirSync(results)
    .filter((f) => f.endsWith('.tap'))
    .sort()) {
    const tap = readFileSync(join(results, file), 'utf8');
    const p = Number(/^# pass (\d+)$/m.exec(tap)?.[1] ?? 0);
    // A cancelled test (a timeout, a hung hook) did not pass: it counts as failed.
    const f =
      Number(/^# fail (\d+)$/m.exec(tap)?.[1] ?? 0) +
      Number(/^# cancelled (\d+)$/m.exec(tap)?.[1] ?? 0);
    // A skipped or todo test is a test that did not run: say so, with its name.
    const s =
      Number(/^# skipped (\d+)$/m.exec(tap)?.[1] ?? 0) +
      Number(/^# todo (\d+)$/m.exec(tap)?.[1] ?? 0);
    passed += p;
    failed += f;
    skipped += s;
    for (const m of tap.matchAll(/^\s*ok \d+ - (.*) # (SKIP|TODO)\b.*$/gm)) {
      skippedNames.push(`${file.replace(/\.tap$/, '')}: ${m[1]} (${m[2].toLowerCase()})`);
    }
    perWorkspace.push(
      `${file.replace(/\.tap$/, '')}: ${p} passed, ${f} failed${s ? `, ${s} skipped` : ''}`,
    );
  }
}
console.log('\n' + perWorkspace.join('\n'));
if (skippedNames.length) console.log('not run:\n  ' + skippedNames.join('\n  '));
if (turbo.status !== 0 && failed === 0) failed = 1; // a build or runner failure is a failure
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(turbo.status === 0 && failed === 0 ? 0 : 1);
