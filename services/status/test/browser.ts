import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's chromium, headless, as every dashboard test runs it (never a downloaded browser):
 * no sandbox (tests may run as root), and nothing that phones home or updates itself.
 */
export function launchTestBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
