// Debian's Chromium for the browser tests, driven by playwright-core: never a downloaded browser.
import { chromium } from 'playwright-core';

/** Quiet flags for a headless run on a small CI machine with no network. */
export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
];

export const launchChromium = () => chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
