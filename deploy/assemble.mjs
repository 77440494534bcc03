// Gathers what the runtime image needs from the built tree into OUT: the root package.json and,
// for each workspace, its package.json and the files its "files" field publishes (dist/src,
// schemas, public, ...). Tests, sources and dev tooling stay behind. node_modules come from the
// prod-deps stage instead.
import { cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const out = process.argv[2];
if (!out) {
  console.error('usage: node deploy/assemble.mjs OUT_DIR');
  process.exit(64);
}
const root = JSON.parse(readFileSync('package.json', 'utf8'));
mkdirSync(out, { recursive: true });
cpSync('package.json', join(out, 'package.json'));
for (const ws of root.workspaces) {
  const manifest = JSON.parse(readFileSync(join(ws, 'package.json'), 'utf8'));
  mkdirSync(join(out, ws), { recursive: true });
  cpSync(join(ws, 'package.json'), join(out, ws, 'package.json'));
  for (const entry of manifest.files ?? []) {
    const from = join(ws, entry);
    if (existsSync(from)) cpSync(from, join(out, ws, entry), { recursive: true });
  }
}
