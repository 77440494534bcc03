import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { sampleData, wrap, type EventEnvelope } from '@conform/contracts';
import { silentLogger } from '@conform/bus';
import { applyBatch, openReadModels, type ReadModels } from '@conform/projections';
import { startStatusServer, type StatusServer } from '../src/index.js';
import { launchTestBrowser } from './browser.js';

// The Files view in Chromium over 100,000 files: it pages over the API and never asks for
// more than one page, whatever the library's size.

const N = 100_000;
let readModels: ReadModels;
let server: StatusServer;
let browser: Browser;

before(async () => {
  readModels = openReadModels(':memory:');
  const at = new Date('2026-01-01T00:00:00.000Z');
  let batch: { event: EventEnvelope; position: number }[] = [];
  for (let i = 0; i < N; i++) {
    const library = i % 2 ? '/media/movies' : '/media/shows';
    const data = {
      ...sampleData['file.probed'],
      library,
      path: `${library}/Title ${String(i).padStart(6, '0')}.mkv`,
      source: { size: 1_000 + i, mtimeMs: 1 },
    };
    batch.push({
      event: wrap({ type: 'file.probed', data }, { fileId: `f${i}`, producer: 't@h', time: at }),
      position: i + 1,
    });
    if (batch.length === 10_000) {
      applyBatch(readModels.sqlite, batch);
      batch = [];
    }
  }
  if (batch.length > 0) applyBatch(readModels.sqlite, batch);
  server = await startStatusServer({ readModels, log: silentLogger() });
  browser = await launchTestBrowser();
});
after(async () => {
  await browser?.close();
  await server?.close();
  await readModels?.close();
});

describe('files view over 100,000 files', () => {
  it('shows a page with the total, pages on, sorts and searches, one page per request', async () => {
    const page = await browser.newPage();
    const rowsPerResponse: number[] = [];
    page.on('response', async (res) => {
      if (new URL(res.url()).pathname === '/api/files') {
        rowsPerResponse.push(((await res.json()) as unknown[]).length);
      }
    });
    await page.goto(`${server.url}/#/files`);
    await page.locator('#count', { hasText: '1–100 of 100,000 files' }).waitFor();
    assert.equal(await page.locator('#files tbody tr').count(), 100);
    assert.match(await page.locator('#files tbody tr').first().innerText(), /Title 000001\.mkv/);
    await page.click('#next');
    await page.locator('#count', { hasText: '101–200 of 100,000 files' }).waitFor();
    await page.selectOption('select[name="sort"]', 'size');
    await page.selectOption('select[name="order"]', 'desc');
    await page.locator('#files tbody tr').first().filter({ hasText: 'Title 099999.mkv' }).waitFor();
    await page.fill('input[name="q"]', 'title 04242');
    await page.locator('#count', { hasText: '1–10 of 10 files' }).waitFor();
    assert.ok(rowsPerResponse.length >= 4, `requests: ${rowsPerResponse.join(', ')}`);
    assert.ok(
      rowsPerResponse.every((n) => n <= 100),
      `every response is one page at most: ${rowsPerResponse.join(', ')}`,
    );
    await page.close();
  });
});
