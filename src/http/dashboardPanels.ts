import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

// Dashboards as code (README "Dashboard panels"): a panel is one `.sql` file whose leading `-- key: value` comment
// lines say where and how its rows are drawn. The server only reads and checks the files; the page runs the SQL
// through POST /api/v1/query with the viewer's own key, so a panel can read nothing its viewer could not.

export const PANEL_PAGES = ['votes', 'experts', 'interviews', 'ask'] as const;
export const PANEL_CHARTS = ['line', 'bars', 'table'] as const;
const KEYS = ['title', 'page', 'chart', 'x', 'y', 'description'] as const;
type HeaderKey = (typeof KEYS)[number];

export interface Panel {
  /** The file name without `.sql`: the panel's id on the page. */
  readonly name: string;
  readonly title: string;
  readonly page: (typeof PANEL_PAGES)[number];
  readonly chart: (typeof PANEL_CHARTS)[number];
  /** The column on the x axis (the bars' labels); null for a table. */
  readonly x: string | null;
  /** The columns drawn; empty for a table (which shows every column). */
  readonly y: readonly string[];
  readonly description: string | null;
  readonly sql: string;
}

export interface PanelError {
  readonly file: string;
  /** The page named in the header when it could be read, else null (the error is shown on every page). */
  readonly page: string | null;
  readonly message: string;
}

export interface PanelList {
  readonly panels: readonly Panel[];
  readonly errors: readonly PanelError[];
}

const FILE = /^[a-z0-9][a-z0-9_-]*\.sql$/;
const COLUMN = /^[A-Za-z_][A-Za-z0-9_]*$/;
const HEADER_LINE = /^--\s*([a-z]+)\s*:\s*(.*?)\s*$/;
/** Panel files are small; a bigger one is a mistake, refused before it reaches a page. */
export const MAX_PANEL_BYTES = 64 * 1024;

/**
 * Parses one panel file strictly: every leading `--` line must be `-- key: value` with a known key, given once;
 * `title`, `page` and `chart` are required, `x` and `y` too unless the chart is a table; the SQL after the header
 * must not be empty. Throws an Error whose message names the problem. Example header:
 * `-- title: Up-rate by app` / `-- page: votes` / `-- chart: line` / `-- x: day` / `-- y: up_rate`.
 */
export function parsePanel(name: string, text: string): Panel {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const header = new Map<HeaderKey, string>();
  let i = 0;
  for (; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    if (!line.startsWith('--')) break;
    const match = HEADER_LINE.exec(line);
    if (!match) throw new Error(`line ${i + 1}: a header line is "-- key: value", got "${line.slice(0, 80)}"`);
    const key = match[1] as HeaderKey;
    if (!KEYS.includes(key)) throw new Error(`line ${i + 1}: unknown header key "${key}" (known: ${KEYS.join(', ')})`);
    if (header.has(key)) throw new Error(`line ${i + 1}: "${key}" is given twice`);
    header.set(key, match[2]!);
  }
  const sql = lines.slice(i).join('\n').trim();
  const required = (key: HeaderKey): string => {
    const value = header.get(key);
    if (!value) throw new Error(`the header needs "-- ${key}: ..."`);
    return value;
  };
  const title = required('title');
  const page = required('page') as Panel['page'];
  if (!PANEL_PAGES.includes(page)) throw new Error(`page must be one of ${PANEL_PAGES.join(', ')}, got "${page}"`);
  const chart = required('chart') as Panel['chart'];
  if (!PANEL_CHARTS.includes(chart)) throw new Error(`chart must be one of ${PANEL_CHARTS.join(', ')}, got "${chart}"`);
  let x: string | null = null;
  let y: string[] = [];
  if (chart !== 'table') {
    x = required('x');
    y = required('y')
      .split(',')
      .map((c) => c.trim());
    const bad = [x, ...y].find((c) => !COLUMN.test(c));
    if (bad !== undefined) throw new Error(`x and y name result columns (letters, digits, _), got "${bad}"`);
  } else if (header.has('x') || header.has('y')) {
    throw new Error('a table shows every column: leave out x and y');
  }
  if (sql === '') throw new Error('no SQL after the header');
  return { name, title, page, chart, x, y, description: header.get('description') ?? null, sql };
}

/** Every `*.sql` file of `dir`, parsed, in file-name order; a file that does not parse is listed in `errors`. */
export async function readPanels(dir: string): Promise<PanelList> {
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { panels: [], errors: [] };
    throw error;
  }
  const panels: Panel[] = [];
  const errors: PanelError[] = [];
  for (const file of files) {
    if (!FILE.test(file)) {
      errors.push({ file, page: null, message: 'a panel file name is lowercase letters, digits, - and _' });
      continue;
    }
    const text = await readFile(path.join(dir, file), 'utf8');
    try {
      if (Buffer.byteLength(text) > MAX_PANEL_BYTES) throw new Error(`larger than ${MAX_PANEL_BYTES} bytes`);
      panels.push(parsePanel(file.slice(0, -'.sql'.length), text));
    } catch (error) {
      const page = /^--\s*page\s*:\s*([a-z]+)\s*$/m.exec(text)?.[1] ?? null;
      errors.push({ file, page, message: (error as Error).message });
    }
  }
  return { panels, errors };
}
