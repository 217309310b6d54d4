import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from '@jest/globals';
import { chromium, type BrowserContext } from 'playwright-core';

/** Debian's package (`apt-get install -y chromium`); playwright-core downloads no browser of its own. */
export const CHROMIUM = '/usr/bin/chromium';

/** `it` where Chromium is installed; elsewhere `it.skip`, saying once why `what` is skipped. */
export function browserTest(what: string): typeof it | typeof it.skip {
  if (existsSync(CHROMIUM)) return it;
  console.warn(`Skipping ${what}: ${CHROMIUM} is missing (install it with: apt-get install -y chromium).`);
  return it.skip;
}

/** Runs `use` in a fresh headless Chromium profile, closed and removed after. */
export async function withChromium<T>(
  use: (context: BrowserContext) => Promise<T>,
  { viewport }: { viewport?: { width: number; height: number } } = {},
): Promise<T> {
  const profile = await mkdtemp(join(tmpdir(), 'tessera-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    ...(viewport && { viewport }),
  });
  try {
    return await use(context);
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
}
