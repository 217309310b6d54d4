import { createHash } from 'node:crypto';
import type { ApolloServerPlugin } from '@apollo/server';
import type { RequestHandler } from 'express';

export const GRAPHIQL_PATH = '/graphiql';

/** The README's first query, in the editor of a fresh GraphiQL (one with nothing stored yet). */
const DEFAULT_QUERY = `# GraphiQL, served by the gateway itself: it works offline.
{
  topProducts(first: 3) {
    name
    price { amount currency }
    inStock
    averageRating
  }
}
`;

const RENDERER: string = '@graphql-yoga/render-graphiql';

interface Page {
  html: string;
  csp: string;
}

/**
 * The page's own Content-Security-Policy. Everything is inline (one script, one style sheet,
 * workers from blobs, a data: favicon), so it is allowed by the script's hash rather than by
 * any host: the page can talk to this origin only, and load nothing from another.
 */
function policyFor(html: string): string {
  const hashes = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map(
    ([, script]) => `'sha256-${createHash('sha256').update(script!).digest('base64')}'`,
  );
  return [
    "default-src 'none'",
    `script-src ${hashes.join(' ')}`,
    'worker-src blob:',
    "style-src 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * `GET /graphiql`: GraphiQL 5 as @graphql-yoga/render-graphiql renders it, one self-contained
 * page with the bundle (editor, workers, styles) inlined, so it works with no network, unlike
 * Apollo Sandbox, which loads from Apollo's CDN. The module (~9 MB) is imported and the page
 * rendered on the first request, so a gateway that never serves it does not hold it.
 */
export function graphiqlPage(endpoint: string): RequestHandler {
  let page: Promise<Page> | undefined;
  const render = async (): Promise<Page> => {
    // Imported by a name TypeScript does not follow: the package's typings import graphql-yoga's,
    // which put the DOM's globals into the whole project (fetch's body then refuses a Buffer).
    const { renderGraphiQL } = (await import(RENDERER)) as {
      renderGraphiQL(options: { endpoint: string; title: string; defaultQuery: string }): string;
    };
    const html = renderGraphiQL({ endpoint, title: 'Tessera GraphiQL', defaultQuery: DEFAULT_QUERY });
    return { html, csp: policyFor(html) };
  };
  return (_req, res, next) => {
    page ??= render();
    page.then(({ html, csp }) => {
      // Replaces helmet's policy for this page only (helmet's allows no inline script).
      res.set({ 'content-security-policy': csp, 'cache-control': 'no-cache' }).type('html').send(html);
    }, next);
  };
}

/**
 * Apollo Sandbox's landing page, with a pointer to `/graphiql` where it says it cannot load
 * (offline, or the CDN blocked): its fallback text, hidden by Sandbox's frame once that loads.
 */
export function pointingToGraphiql<T extends object>(landingPage: ApolloServerPlugin<T>, graphiqlPath: string): ApolloServerPlugin<T> {
  const pointer = `<div class="fallback">\n  <p>Offline? <a href="${graphiqlPath}">GraphiQL</a> is served by this gateway, with nothing to load from elsewhere.</p>`;
  return {
    ...landingPage,
    async serverWillStart(service) {
      const listener = await landingPage.serverWillStart?.(service);
      const render = listener?.renderLandingPage?.bind(listener);
      if (!listener || !render) return listener;
      return {
        ...listener,
        async renderLandingPage() {
          const { html } = await render();
          return { html: async () => (typeof html === 'string' ? html : await html()).replace('<div class="fallback">', pointer) };
        },
      };
    },
  };
}
