#!/usr/bin/env node
// Bumps conform's version. The root package.json is the one place the version is decided; this
// writes it into every workspace's package.json (the CLI's is what `conform --version` prints,
// and each is what the image ships) and turns CHANGELOG.md's `Unreleased` section into the
// release's. Usage: node scripts/version.mjs X.Y.Z [--dry-run]
//        node scripts/version.mjs --check   (exits 1 when a workspace disagrees with the root)
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const read = (path) => JSON.parse(readFileSync(path, 'utf8'));
const rootPkg = read(join(root, 'package.json'));
const manifests = rootPkg.workspaces.map((w) => join(root, w, 'package.json'));
const args = process.argv.slice(2);
const dryRun = args.includes('--dry-run');

// The image's default version label (release.sh passes the version too; a plain
// `docker build` uses this one).
const dockerfile = join(root, 'deploy/Dockerfile');
const hasDockerfile = existsSync(dockerfile);

if (args.includes('--check')) {
  const wrong = manifests.filter((m) => read(m).version !== rootPkg.version);
  for (const m of wrong)
    console.error(`${m}: version ${read(m).version}, the root says ${rootPkg.version}`);
  const label = hasDockerfile
    ? /^ARG VERSION=(.*)$/m.exec(readFileSync(dockerfile, 'utf8'))?.[1]
    : rootPkg.version;
  if (label !== rootPkg.version) {
    console.error(`${dockerfile}: ARG VERSION=${label}, the root says ${rootPkg.version}`);
  }
  process.exit(wrong.length || label !== rootPkg.version ? 1 : 0);
}

const next = args.find((a) => !a.startsWith('--'));
if (!next || !/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(next)) {
  console.error('usage: node scripts/version.mjs X.Y.Z [--dry-run] | --check');
  process.exit(2);
}

const changelogPath = join(root, 'CHANGELOG.md');
const changelog = readFileSync(changelogPath, 'utf8');
const unreleased = /^## \[Unreleased\]\n([\s\S]*?)(?=^## \[)/m.exec(changelog);
if (!unreleased) {
  console.error('CHANGELOG.md: no "## [Unreleased]" section followed by a release section');
  process.exit(1);
}
if (changelog.includes(`## [${next}]`)) {
  console.error(`CHANGELOG.md already has a ${next} section`);
  process.exit(1);
}
if (unreleased[1].trim() === '') {
  console.error('CHANGELOG.md: nothing under Unreleased to release');
  process.exit(1);
}
const day = new Date().toISOString().slice(0, 10);
const updated = changelog
  .replace(unreleased[0], `## [Unreleased]\n\n## [${next}] - ${day}\n${unreleased[1]}`)
  .replace(
    /^\[Unreleased\]: (.*)\/compare\/v[^.]+\.[^.]+\.[^.]+\.\.\.HEAD$/m,
    `[Unreleased]: $1/compare/v${next}...HEAD\n[${next}]: $1/releases/tag/v${next}`,
  );

for (const path of [join(root, 'package.json'), ...manifests]) {
  const text = readFileSync(path, 'utf8');
  const bumped = text.replace(/^( {2}"version": )"[^"]+"/m, `$1"${next}"`);
  console.log(`${dryRun ? 'would set' : 'set'} ${path.slice(root.length + 1)} to ${next}`);
  if (!dryRun) writeFileSync(path, bumped);
}
console.log(
  `${dryRun ? 'would move' : 'moved'} CHANGELOG.md's Unreleased notes under ${next} (${day})`,
);
if (!dryRun) writeFileSync(changelogPath, updated);
if (!dryRun)
  console.log('now: npm install --package-lock-only, commit, and after the merge tag v' + next);
