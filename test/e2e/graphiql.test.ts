import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { repoRoot } from '../../shared/config/paths.js';
import { browserTest, withChromium } from '../support/browser.js';
import { supergraphForSuite } from '../support/supergraph.js';

const inBrowser = browserTest('the GraphiQL browser test');

/** The README's Quick start query. */
const README_QUERY =
  '{ topProducts(first: 3) { name price { amount currency } inStock shippingEstimate averageRating reviews(first: 2) { edges { node { rating author { username } } } } } }';

describe('GraphiQL at /graphiql', () => {
  const supergraph = supergraphForSuite({ env: 'development' });
  let development: string;
  let production: string;
  let productionWithGraphiql: string;
  beforeAll(async () => {
    development = supergraph.origin;
    production = (await supergraph.startGateway({ env: 'production' })).origin;
    productionWithGraphiql = (await supergraph.startGateway({ env: 'production', graphiql: true })).origin;
  });

  it('is one page that loads nothing from another host, under a policy that allows none', async () => {
    const response = await fetch(`${development}/graphiql`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = response.headers.get('content-security-policy')!;
    expect(csp).toMatch(/script-src 'sha256-[^']+'/);
    expect(csp).not.toMatch(/https?:|\*|'unsafe-eval'/);
    const html = await response.text();
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href="https?:/);
  });

  it('is pointed to from the Sandbox landing page, for when Sandbox cannot load', async () => {
    const html = await (await fetch(`${development}/`, { headers: { accept: 'text/html' } })).text();
    expect(html).toMatch(/embeddable-sandbox/);
    expect(html).toMatch(/<a href="\/graphiql">GraphiQL<\/a>/);
  });

  it('is not served in production unless GRAPHIQL says so', async () => {
    const response = await fetch(`${production}/graphiql`, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(404);
    expect((await response.text()).includes('renderYogaGraphiQL')).toBe(false);
  });

  it("is served in production with GRAPHIQL=true, under its own policy rather than helmet's", async () => {
    const response = await fetch(`${productionWithGraphiql}/graphiql`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toMatch(/script-src 'sha256-/);
  });

  inBrowser.each([
    ['development', () => development, 'graphiql.png'],
    ['production with GRAPHIQL=true', () => productionWithGraphiql, 'graphiql-production.png'],
  ])(
    "runs the README's query in headless Chromium (%s), with no request leaving 127.0.0.1",
    async (_, originOf, screenshot) => {
      const origin = originOf();
      const { data } = await supergraph.query<{ topProducts: { name: string }[] }>(README_QUERY);
      const names = data!.topProducts.map((product) => product.name);
      expect(names).toHaveLength(3);
      const requested: string[] = [];
      const problems: string[] = [];
      await withChromium(
        async (context) => {
          context.on('request', (request) => requested.push(request.url()));
          const page = context.pages()[0] ?? (await context.newPage());
          page.on('pageerror', (error) => problems.push(error.message));
          page.on('console', (message) => {
            if (message.type() === 'error') problems.push(message.text());
          });
          await page.goto(`${origin}/graphiql`);
          const editor = page.locator('.graphiql-query-editor .monaco-editor').first();
          await editor.waitFor({ timeout: 20_000 });
          await editor.click();
          await page.keyboard.press('ControlOrMeta+A');
          await page.keyboard.press('Delete');
          // As pasted: typing key by key would have the editor close every brace twice.
          await page.keyboard.insertText(README_QUERY);
          // On a loaded machine the editor may take a moment to hold what was pasted: run it once it does.
          await page
            .locator('.graphiql-query-editor .view-lines')
            .getByText('topProducts', { exact: false })
            .first()
            .waitFor({ timeout: 20_000 });
          const result = page.locator('.graphiql-response');
          const shown = () => result.getByText(names[0]!, { exact: false }).first();
          for (let attempt = 0; attempt < 2; attempt++) {
            await page.locator('.graphiql-execute-button').click();
            if (
              await shown()
                .waitFor({ timeout: 30_000 })
                .then(
                  () => true,
                  () => false,
                )
            )
              break;
          }
          for (const name of names) await result.getByText(name, { exact: false }).first().waitFor({ timeout: 10_000 });
          await mkdir(join(repoRoot, 'test-output'), { recursive: true });
          await page.screenshot({ path: join(repoRoot, 'test-output', screenshot) });
          const elsewhere = requested.filter((url) => !/^(blob|data):/.test(url) && new URL(url).hostname !== '127.0.0.1');
          expect(elsewhere).toEqual([]);
          expect(requested.some((url) => url === `${origin}/graphql`)).toBe(true);
          // Nothing the page's policy refused (a refusal is reported as a console error).
          expect(problems.filter((problem) => /Content Security Policy|Refused/.test(problem))).toEqual([]);
        },
        { viewport: { width: 1400, height: 1800 } },
      );
    },
    120_000,
  );
});
