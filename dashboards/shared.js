// What every dashboard page shares (README "Dashboards"): the header (pages, key, range, granularity, segment), the
// view's state in the URL (so a link reproduces the view; the key never goes there), the calls to the rollup API and
// the empty states. Plain browser modules, no build step.
import { $, el } from './dom.js';
import { call } from './api.js';
import { renderPanels } from './panels.js';

export { $, el, fmtNum, fmtPct } from './dom.js';

export const PAGES = [
  ['votes', 'Votes'],
  ['experts', 'Experts'],
  ['interviews', 'Interviews'],
  ['ask', 'Ask the warehouse'],
];
export const PRESETS = [
  ['7', '7 days'],
  ['30', '30 days'],
  ['90', '90 days'],
  ['all', 'All'],
];
const GRANULARITIES = ['day', 'week', 'month'];
const DEFAULT_PRESET = '30';
/** The tab's sessionStorage: the key is gone when the tab closes, and never in a URL or a shared link. */
const KEY_ITEM = 'fw-key';
const STATE_PARAMS = ['preset', 'from', 'to', 'granularity', 'segment'];

const isDay = (s) => typeof s === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(s));
const dayOf = (date) => date.toISOString().slice(0, 10);

/** The view's state from a query string; what is missing or invalid falls back to the page's defaults. */
export function readState(search, defaultGranularity) {
  const q = new URLSearchParams(search);
  const from = isDay(q.get('from')) ? q.get('from') : null;
  const to = isDay(q.get('to')) ? q.get('to') : null;
  const preset = from || to ? null : PRESETS.some(([p]) => p === q.get('preset')) ? q.get('preset') : DEFAULT_PRESET;
  const granularity = GRANULARITIES.includes(q.get('granularity')) ? q.get('granularity') : defaultGranularity;
  const filters = {};
  for (const [name, value] of q) if (!STATE_PARAMS.includes(name)) filters[name] = value;
  return { preset, from, to, granularity, segment: q.get('segment') || null, filters };
}

/** The query string of a state: only what differs from the defaults, so links stay short. */
export function writeState(state, defaultGranularity, { withSegments = true } = {}) {
  const q = new URLSearchParams();
  if (state.preset && state.preset !== DEFAULT_PRESET) q.set('preset', state.preset);
  if (!state.preset) {
    if (state.from) q.set('from', state.from);
    if (state.to) q.set('to', state.to);
  }
  if (state.granularity !== defaultGranularity) q.set('granularity', state.granularity);
  if (withSegments) {
    if (state.segment) q.set('segment', state.segment);
    for (const [name, value] of Object.entries(state.filters)) q.set(name, value);
  }
  return q.toString();
}

/** The UTC days a state covers: a preset of N days ends today; `all` and open ends are null. */
export function rangeOf(state, now = new Date()) {
  if (state.preset === 'all') return { from: null, to: null };
  if (state.preset) {
    const from = new Date(now.getTime() - (Number(state.preset) - 1) * 86_400_000);
    return { from: dayOf(from), to: dayOf(now) };
  }
  return { from: state.from, to: state.to };
}

export function describeRange({ from, to }) {
  if (from && to) return `between ${from} and ${to}`;
  if (from) return `since ${from}`;
  if (to) return `until ${to}`;
  return 'in the warehouse';
}

function ageOf(asOf) {
  const minutes = Math.max(0, Math.round((Date.now() - Date.parse(asOf)) / 60000));
  if (minutes < 60) return `${minutes} min`;
  if (minutes < 2880) return `${Math.round(minutes / 60)} h`;
  return `${Math.round(minutes / 1440)} days`;
}

function headerMarkup(page, withSegments) {
  const nav = el(
    'nav',
    { ariaLabel: 'Dashboards' },
    ...PAGES.map(([name, label]) =>
      el('a', { href: `${name}.html`, id: `nav-${name}`, ...(name === page ? { ariaCurrent: 'page' } : {}) }, label),
    ),
  );
  const keyForm = el(
    'form',
    { id: 'key-form', className: 'controls' },
    el(
      'label',
      {},
      'API key',
      el('input', { id: 'key', type: 'password', autocomplete: 'off', placeholder: 'fw_...', spellcheck: false }),
    ),
    el('button', { type: 'submit', id: 'use-key' }, 'Use key'),
    el('button', { type: 'button', id: 'forget-key' }, 'Forget key'),
  );
  const presets = el(
    'div',
    { className: 'presets', role: 'group', ariaLabel: 'Range presets' },
    ...PRESETS.map(([p, label]) => el('button', { type: 'button', className: 'preset', 'data-preset': p }, label)),
  );
  const granularity = el('select', { id: 'granularity' }, ...GRANULARITIES.map((g) => el('option', { value: g }, g)));
  const viewForm = el(
    'form',
    { id: 'view-form', className: 'controls' },
    presets,
    el('label', {}, 'From', el('input', { id: 'from', type: 'date' })),
    el('label', {}, 'To', el('input', { id: 'to', type: 'date' })),
    el('label', {}, 'Granularity', granularity),
    withSegments ? el('span', { id: 'segment-controls', className: 'controls' }) : null,
    el('button', { type: 'submit', id: 'apply' }, 'Apply'),
  );
  return el(
    'header',
    {},
    el('div', { className: 'top' }, el('h1', {}, 'feedback-warehouse'), nav),
    keyForm,
    viewForm,
    el('p', { id: 'status', role: 'status' }),
  );
}

/**
 * Starts a page: draws the header, reads the state from the URL, and calls `load(ctx)` whenever the state or the
 * key changes (and on back/forward). `load` draws into `ctx.main` with `ctx.api(path, params)`; panel files for the
 * page are drawn after it. `document.body.dataset.loaded` says when the page is done (for tests and benchmarks).
 */
export function startPage({ page, defaultGranularity = 'week', withSegments = false, load }) {
  document.body.prepend(headerMarkup(page, withSegments));
  const main = $('main');
  let state = readState(location.search, defaultGranularity);
  let generation = 0;

  const status = (text, kind = '') => {
    const node = $('status');
    node.replaceChildren(...(Array.isArray(text) ? text : [text]));
    node.className = kind;
  };

  function syncControls() {
    const range = rangeOf(state);
    $('from').value = range.from ?? '';
    $('to').value = range.to ?? '';
    $('granularity').value = state.granularity;
    for (const button of document.querySelectorAll('.preset'))
      button.setAttribute('aria-pressed', String(button.dataset.preset === state.preset));
    for (const [name] of PAGES) {
      // The range travels between pages; granularity and segment are each page's own (their defaults differ).
      const pageDefault = name === 'votes' ? 'day' : 'week';
      const q =
        name === page
          ? writeState(state, defaultGranularity, { withSegments })
          : writeState({ ...state, granularity: pageDefault }, pageDefault, { withSegments: false });
      $(`nav-${name}`).href = `${name}.html${q ? `?${q}` : ''}`;
    }
  }

  function navigate(next) {
    state = next;
    const q = writeState(state, defaultGranularity, { withSegments });
    history.pushState(null, '', `${location.pathname}${q ? `?${q}` : ''}`);
    void refresh();
  }

  /** A message in place of a page's charts, with what to do. */
  const emptyState = (...children) => main.replaceChildren(el('div', { className: 'empty-state' }, ...children));

  async function refresh() {
    const mine = ++generation;
    syncControls();
    delete document.body.dataset.loaded;
    const key = sessionStorage.getItem(KEY_ITEM);
    if (!key) {
      status('No key yet.');
      emptyState(
        el('h2', {}, 'Paste a key to see the figures'),
        el('p', {}, 'Paste a key with the ', el('code', {}, 'read'), ' scope above and press "Use key".'),
        el(
          'p',
          {},
          'An operator creates one with ',
          el('code', {}, 'feedback-warehouse keys create --name me --scopes read,query'),
          ' (add ',
          el('code', {}, 'query'),
          ' to run SQL panels and ask your own questions). The key stays in this tab only.',
        ),
      );
      document.body.dataset.loaded = 'nokey';
      return;
    }
    $('key').value = key;
    status('Loading…');
    const range = rangeOf(state);
    const ctx = {
      key,
      state,
      range,
      // The page's default granularity is the API's default for that endpoint: sent only when it differs.
      granularity: state.granularity === defaultGranularity ? null : state.granularity,
      main: el('div', { className: 'page' }),
      /** A rollup endpoint over the page's range and granularity, plus `extra` parameters. */
      rollup: (path, extra = {}) =>
        ctx.api(path, { from: range.from, to: range.to, granularity: ctx.granularity, ...extra }),
      api: (path, params = {}) => {
        const q = new URLSearchParams();
        for (const [name, value] of Object.entries(params))
          if (value !== null && value !== undefined) q.set(name, value);
        return call(`${path}${q.size ? `?${q}` : ''}`, key);
      },
      /** Says how fresh the data is; returns false (after drawing the empty state) when never exported. */
      freshness(asOf) {
        if (!asOf) {
          status('The warehouse has not been exported yet.', 'stale');
          emptyState(
            el('h2', {}, 'No export yet'),
            el(
              'p',
              {},
              'The warehouse has not been exported yet: run ',
              el('code', {}, 'feedback-warehouse export'),
              ' (or wait for the nightly export), then reload this page.',
            ),
          );
          return false;
        }
        const stamp = new Date(asOf).toISOString().replace('T', ' ').slice(0, 16);
        status(
          `Data as of ${stamp} UTC (${ageOf(asOf)} ago).`,
          Date.now() - Date.parse(asOf) > 26 * 3600e3 ? 'stale' : '',
        );
        return true;
      },
      /** The text of a chart without data in the range, with a way out. */
      noData(what) {
        const all = writeState({ ...state, preset: 'all', from: null, to: null }, defaultGranularity, { withSegments });
        return [
          `No ${what} ${describeRange(range)}; try `,
          el('a', { href: `?${all}`, className: 'try-all' }, 'All'),
          '.',
        ];
      },
      setSegments: (keys, values) => withSegments && segmentControls(keys, values),
      status,
    };
    // In the document before drawing, so each chart takes the width it is given (360 px on a phone).
    main.replaceChildren(ctx.main);
    try {
      const exported = await load(ctx);
      if (mine !== generation) return;
      if (exported !== false) await renderPanels(ctx, page, ctx.main);
      if (mine === generation) document.body.dataset.loaded = 'true';
    } catch (error) {
      if (mine !== generation) return;
      status(`Could not load this page: ${error.message}`, 'error');
      emptyState(
        el('h2', {}, 'The figures could not be loaded'),
        el(
          'p',
          {},
          error.status === 401
            ? 'The key was not accepted: check it, or ask an operator for a key with the read scope.'
            : error.status === 403
              ? 'This key lacks the read scope the dashboards need.'
              : error.message,
        ),
      );
      document.body.dataset.loaded = 'error';
    }
  }

  function segmentControls(keys, values) {
    const holder = $('segment-controls');
    const picker = el(
      'select',
      { id: 'segment' },
      el('option', { value: '' }, 'none'),
      ...keys.map((k) => el('option', { value: k }, k)),
    );
    picker.value = state.segment ?? '';
    const filters = keys.map((k) => {
      const select = el(
        'select',
        { id: `filter-${k}`, 'data-filter': k },
        el('option', { value: '' }, 'all'),
        ...(values[k] ?? []).map((v) => el('option', { value: v }, v)),
      );
      select.value = state.filters[k] ?? '';
      return el('label', {}, `${k}`, select);
    });
    holder.replaceChildren(el('label', {}, 'Segment', picker), ...filters);
  }

  function readControls() {
    const filters = {};
    for (const select of document.querySelectorAll('[data-filter]'))
      if (select.value) filters[select.dataset.filter] = select.value;
    const segment = $('segment') ? $('segment').value || null : state.segment;
    return { ...state, granularity: $('granularity').value, segment, filters: $('segment') ? filters : state.filters };
  }

  $('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const key = $('key').value.trim();
    if (key) sessionStorage.setItem(KEY_ITEM, key);
    void refresh();
  });
  $('forget-key').addEventListener('click', () => {
    sessionStorage.removeItem(KEY_ITEM);
    $('key').value = '';
    void refresh();
  });
  for (const button of document.querySelectorAll('.preset'))
    button.addEventListener('click', () =>
      navigate({ ...readControls(), preset: button.dataset.preset, from: null, to: null }),
    );
  $('view-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const next = readControls();
    const range = rangeOf(state);
    const from = $('from').value || null;
    const to = $('to').value || null;
    // Typed dates make a custom range; untouched ones keep the preset.
    const custom = from !== range.from || to !== range.to;
    navigate(custom ? { ...next, preset: null, from, to } : next);
  });
  $('view-form').addEventListener('change', (event) => {
    if (event.target.tagName === 'SELECT') navigate(readControls());
  });
  window.addEventListener('popstate', () => {
    state = readState(location.search, defaultGranularity);
    void refresh();
  });
  void refresh();
}

/** Headline numbers as tiles: `[[label, value], ...]`. */
export function tiles(items) {
  return el(
    'div',
    { className: 'tiles' },
    ...items.map(([label, value]) =>
      el(
        'div',
        { className: 'tile' },
        el('b', {}, typeof value === 'number' ? value.toLocaleString('en') : String(value)),
        el('span', {}, label),
      ),
    ),
  );
}
