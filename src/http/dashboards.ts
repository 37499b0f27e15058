import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Context, Next } from 'koa';
import { readPanels } from './dashboardPanels.ts';

const DASHBOARDS_DIR = fileURLToPath(new URL('../../dashboards', import.meta.url));
/** The example panels shipped with the package (README "Dashboard panels"). */
export const DEFAULT_PANELS_DIR = path.join(DASHBOARDS_DIR, 'panels');
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
  const vendor = /^\/dashboards\/vendor\/(uPlot\.iife\.min\.js|uPlot\.min\.css)$/.exec(urlPath);
  if (vendor) return path.join(UPLOT_DIR, vendor[1]!);
  const page = /^\/dashboards\/([a-z0-9-]+\.(?:html|js|css|svg))$/.exec(urlPath);
  // The shell itself is served only as one of the four pages, with its placeholders filled.
  return page && page[1] !== 'page.html' ? path.join(DASHBOARDS_DIR, page[1]!) : null;
}

/** The four pages and their titles: one shell (dashboards/page.html) that loads the page's own module. */
const PAGE_TITLES = { votes: 'Votes', experts: 'Experts', interviews: 'Interviews', ask: 'Ask the warehouse' } as const;

async function pageHtml(page: keyof typeof PAGE_TITLES): Promise<string> {
  const shell = await readFile(path.join(DASHBOARDS_DIR, 'page.html'), 'utf8');
  return shell.replaceAll('{{page}}', page).replaceAll('{{title}}', PAGE_TITLES[page]);
}

function headers(ctx: Context): void {
  ctx.state.routeTemplate = '/dashboards/';
  ctx.set('Cache-Control', 'no-cache');
  ctx.set('Content-Security-Policy', "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:");
  ctx.set('X-Content-Type-Options', 'nosniff');
}

export interface DashboardOptions {
  /** Where the panel files are (DASHBOARD_PANELS_DIR); null or absent: the examples in `dashboards/panels/`. */
  readonly panelsDir?: string | null;
}

/**
 * GET /dashboards/: the static dashboards (README "Dashboards"). The pages need no key; their data calls go to the
 * rollup API with a `read` key the user pastes (kept in the tab's sessionStorage, never in the page or the URL).
 * `/dashboards/panels.json` lists the panel files, parsed, re-read on every request so a new file shows up on the
 * next page load.
 */
export function dashboards(options: DashboardOptions = {}) {
  const panelsDir = options.panelsDir ?? DEFAULT_PANELS_DIR;
  return async function serveDashboards(ctx: Context, next: Next): Promise<void> {
    if ((ctx.method !== 'GET' && ctx.method !== 'HEAD') || !ctx.path.startsWith('/dashboards')) return next();
    if (ctx.path === '/dashboards' || ctx.path === '/dashboards/') {
      // The Votes page is the landing page; the query string (the view's state) goes along.
      ctx.state.routeTemplate = '/dashboards/';
      return ctx.redirect(`/dashboards/votes.html${ctx.querystring ? `?${ctx.querystring}` : ''}`);
    }
    if (ctx.path === '/dashboards/panels.json') {
      ctx.body = await readPanels(panelsDir);
      headers(ctx);
      return;
    }
    const page = /^\/dashboards\/(votes|experts|interviews|ask)\.html$/.exec(ctx.path);
    if (page) {
      ctx.body = await pageHtml(page[1] as keyof typeof PAGE_TITLES);
      headers(ctx);
      ctx.type = TYPES['.html']!;
      return;
    }
    const file = resolve(ctx.path);
    if (file === null) return next();
    try {
      ctx.body = await readFile(file);
    } catch {
      return next();
    }
    headers(ctx);
    ctx.type = TYPES[path.extname(file)] ?? 'application/octet-stream';
  };
}
