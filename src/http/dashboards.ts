import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Context, Next } from 'koa';

const DASHBOARDS_DIR = fileURLToPath(new URL('../../dashboards', import.meta.url));
// uPlot's own files, found the way Node finds the package, wherever it is installed.
const UPLOT_DIR = path.dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The files served, by URL path: the pages under dashboards/ and uPlot itself from the installed package. */
function resolve(urlPath: string): string | null {
  if (urlPath === '/dashboards' || urlPath === '/dashboards/') return path.join(DASHBOARDS_DIR, 'index.html');
  const vendor = /^\/dashboards\/vendor\/(uPlot\.iife\.min\.js|uPlot\.min\.css)$/.exec(urlPath);
  if (vendor) return path.join(UPLOT_DIR, vendor[1]!);
  const page = /^\/dashboards\/([a-z0-9-]+\.(?:html|js|css|svg))$/.exec(urlPath);
  return page ? path.join(DASHBOARDS_DIR, page[1]!) : null;
}

/**
 * GET /dashboards/: the static dashboards. The pages need no key; their data calls go to the rollup API with a
 * `read` key the user pastes (kept in the browser's localStorage, never in the page).
 */
export function dashboards() {
  return async function serveDashboards(ctx: Context, next: Next): Promise<void> {
    if ((ctx.method !== 'GET' && ctx.method !== 'HEAD') || !ctx.path.startsWith('/dashboards')) return next();
    const file = resolve(ctx.path);
    if (file === null) return next();
    if (ctx.path === '/dashboards') return ctx.redirect('/dashboards/');
    try {
      ctx.body = await readFile(file);
    } catch {
      return next();
    }
    ctx.state.routeTemplate = '/dashboards/';
    ctx.type = TYPES[path.extname(file)] ?? 'application/octet-stream';
    ctx.set('Cache-Control', 'no-cache');
    ctx.set('Content-Security-Policy', "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:");
    ctx.set('X-Content-Type-Options', 'nosniff');
  };
}
