#!/usr/bin/env node
// Copies the dashboard's one third-party script (Chart.js, UMD build) from node_modules into
// public/vendor/, so the package ships it and the browser never needs a CDN. Run by `build`.
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
// chart.js's export map has no ./dist/*: find the package folder from its main entry instead.
const dist = dirname(require.resolve('chart.js'));
const target = join(import.meta.dirname, '..', 'public', 'vendor');
mkdirSync(target, { recursive: true });
copyFileSync(join(dist, 'chart.umd.min.js'), join(target, 'chart.umd.min.js'));
