// The static dashboards: one page, no build step, uPlot for charts. Data comes from the rollup API with a `read`
// key that the user pastes (kept in this browser's localStorage only); "Ask the warehouse" sends SQL to the query
// endpoint with the same key, which then needs the `query` scope.
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const COLORS = ['#2f6fdf', '#d9480f', '#2b8a3e', '#7048e8', '#1d2330'];
  const charts = [];

  const fmtPct = (x) => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(1)}%`);
  const fmtNum = (x, digits = 1) => (x === null || x === undefined ? '–' : Number(x).toFixed(digits));
  const text = (s) => document.createTextNode(String(s));
  const toEpoch = (day) => Date.parse(`${day}T00:00:00Z`) / 1000;

  function tiles(el, items) {
    el.replaceChildren(
      ...items.map(([label, value]) => {
        const div = document.createElement('div');
        div.className = 'tile';
        const b = document.createElement('b');
        b.append(text(value));
        const span = document.createElement('span');
        span.append(text(label));
        div.append(b, span);
        return div;
      }),
    );
  }

  function table(el, headers, rows, emptyText = 'No data in this range.') {
    const head = document.createElement('tr');
    headers.forEach(([label, numeric]) => {
      const th = document.createElement('th');
      if (numeric) th.className = 'num';
      th.append(text(label));
      head.append(th);
    });
    const body = rows.map((cells) => {
      const tr = document.createElement('tr');
      cells.forEach((cell, i) => {
        const td = document.createElement('td');
        if (headers[i][1]) td.className = 'num';
        td.append(text(cell));
        tr.append(td);
      });
      return tr;
    });
    if (rows.length === 0) {
      const tr = document.createElement('tr');
      const td = document.createElement('td');
      td.colSpan = headers.length;
      td.className = 'empty';
      td.append(text(emptyText));
      tr.append(td);
      body.push(tr);
    }
    el.replaceChildren(head, ...body);
  }

  function chart(el, opts, data) {
    el.replaceChildren();
    if (data[0].length === 0) {
      const p = document.createElement('p');
      p.className = 'empty';
      p.append(text('No data in this range.'));
      el.append(p);
      return;
    }
    const width = Math.max(320, el.clientWidth || 520);
    // The time axis spans the data, with half a day of margin, so a single day or week still reads well.
    const xs = data[0];
    const x = { time: true, range: () => [xs[0] - 43200, xs[xs.length - 1] + 43200] };
    charts.push(new uPlot({ width, height: 240, ...opts, scales: { x, ...opts.scales } }, data, el));
  }

  async function get(path, key) {
    const res = await fetch(path, { headers: { Authorization: `Bearer ${key}` } });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(`${res.status} ${body.title || ''}: ${body.detail || path}`);
    return body;
  }

  function freshness(asOf) {
    const el = $('freshness');
    el.className = '';
    if (!asOf) {
      el.textContent =
        'The warehouse has not been exported yet: run `feedback-warehouse export` or wait for the schedule.';
      el.className = 'stale';
      return;
    }
    const ageMin = Math.round((Date.now() - Date.parse(asOf)) / 60000);
    const age =
      ageMin < 60
        ? `${ageMin} min`
        : ageMin < 2880
          ? `${Math.round(ageMin / 60)} h`
          : `${Math.round(ageMin / 1440)} days`;
    el.textContent = `Data as of ${new Date(asOf).toISOString().replace('T', ' ').slice(0, 16)} UTC (${age} ago).`;
    if (ageMin > 26 * 60) el.className = 'stale';
  }

  function renderVotes(v) {
    tiles($('vote-tiles'), [
      ['conversations', v.totals.conversations],
      ['latest vote up', v.totals.up],
      ['latest vote down', v.totals.down],
      ['up-rate', fmtPct(v.totals.up_rate)],
    ]);
    const days = v.daily.map((d) => toEpoch(d.day));
    chart(
      $('vote-chart'),
      {
        title: 'Votes per day',
        series: [
          {},
          { label: 'up', stroke: '#2b8a3e', fill: 'rgba(43,138,62,0.08)' },
          { label: 'down', stroke: '#b00020', fill: 'rgba(176,0,32,0.08)' },
          { label: 'up-rate', stroke: '#2f6fdf', scale: 'rate', value: (u, x) => fmtPct(x) },
        ],
        axes: [
          {},
          { label: 'votes' },
          { side: 1, scale: 'rate', values: (u, xs) => xs.map((x) => fmtPct(x)), grid: { show: false } },
        ],
        scales: { rate: { range: [0, 1] } },
      },
      [days, v.daily.map((d) => d.up), v.daily.map((d) => d.down), v.daily.map((d) => d.up_rate)],
    );
    table(
      $('reasons'),
      [['reason'], ['down votes', true]],
      v.top_downvote_reasons.map((r) => [r.reason, r.count]),
    );
  }

  function renderExperts(e) {
    tiles($('expert-tiles'), [
      ['experts', e.experts.length],
      ['trust-weighted accuracy', fmtPct(e.trust_weighted_accuracy)],
    ]);
    table(
      $('expert-table'),
      [['expert'], ['feedback', true], ['correct', true], ['FAQs', true], ['conversion', true], ['trust', true]],
      e.experts.map((x) => [
        x.expert_id.slice(0, 8),
        x.feedback_count,
        x.correct_count,
        x.faq_count,
        fmtPct(x.conversion_rate),
        fmtNum(x.trust_score, 2),
      ]),
    );
  }

  function renderInterviews(i) {
    // The API lists every dimension in `overall`, in order, even without data: the page names none of its own.
    const dimensions = i.overall.map((o) => o.dimension);
    const weeks = [...new Set(i.weekly.map((w) => w.period))].sort();
    const series = dimensions.map((dim) =>
      weeks.map((p) => i.weekly.find((w) => w.dimension === dim && w.period === p)?.p50 ?? null),
    );
    chart(
      $('interview-chart'),
      {
        title: 'Median score per ISO week',
        series: [
          {},
          ...dimensions.map((dim, k) => ({
            label: dim.replace(/_score$/, '').replace(/_/g, ' '),
            stroke: COLORS[k],
            spanGaps: true,
          })),
        ],
        scales: { y: { range: [0, 100] } },
      },
      [weeks.map(toEpoch), ...series],
    );
    table(
      $('interview-table'),
      [
        ['dimension'],
        ['n', true],
        ['mean', true],
        ['p10', true],
        ['p50', true],
        ['p90', true],
        ['min', true],
        ['max', true],
      ],
      i.overall.map((s) => [
        s.dimension.replace(/_score$/, ''),
        s.n,
        fmtNum(s.mean),
        fmtNum(s.p10),
        fmtNum(s.p50),
        fmtNum(s.p90),
        s.min ?? '–',
        s.max ?? '–',
      ]),
    );
    table(
      $('gaps'),
      [['knowledge gap'], ['feedbacks', true]],
      i.top_knowledge_gaps.map((g) => [g.gap, g.count]),
    );
  }

  async function load() {
    const key = $('key').value.trim();
    if (!key) return;
    localStorage.setItem('fw-read-key', key);
    const q = new URLSearchParams();
    if ($('from').value) q.set('from', $('from').value);
    if ($('to').value) q.set('to', $('to').value);
    const qs = q.toString() ? `?${q}` : '';
    charts.splice(0).forEach((c) => c.destroy());
    try {
      const [votes, experts, interviews] = await Promise.all([
        get(`/api/v1/rollups/votes${qs}`, key),
        get('/api/v1/rollups/experts', key),
        get(`/api/v1/rollups/interviews${qs}`, key),
      ]);
      freshness(votes.as_of);
      renderVotes(votes);
      renderExperts(experts);
      renderInterviews(interviews);
      document.body.dataset.loaded = 'true';
    } catch (error) {
      const el = $('freshness');
      el.textContent = `Could not load the dashboards: ${error.message}`;
      el.className = 'error';
    }
  }

  // A query result cell: JSON values as the endpoint sends them; lists and structs as JSON text.
  const cellText = (v) => (v === null ? '∅' : typeof v === 'object' ? JSON.stringify(v) : v);
  const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|U?(TINY|SMALL|BIG|HUGE)?INT|FLOAT|DOUBLE|DECIMAL)/;

  async function runSql() {
    const status = $('sql-status');
    const key = $('key').value.trim();
    status.className = '';
    if (!key) {
      status.textContent = 'Paste a key with the query scope first.';
      status.className = 'error';
      return;
    }
    status.textContent = 'Running…';
    try {
      const res = await fetch('/api/v1/query', {
        method: 'POST',
        headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ sql: $('sql-text').value }),
      });
      const body = await res.json().catch(() => ({}));
      if (!res.ok) throw new Error(`${res.status} ${body.title || ''}: ${body.detail || ''}`);
      const headers = body.columns.map((c) => [c.name, NUMERIC.test(c.type)]);
      table(
        $('sql-result'),
        headers,
        body.rows.map((row) => row.map(cellText)),
        'No rows.',
      );
      const rows = `${body.row_count} row${body.row_count === 1 ? '' : 's'}`;
      status.textContent = `${rows}${body.truncated ? ' (truncated at the row cap)' : ''} in ${body.elapsed_ms} ms.`;
    } catch (error) {
      $('sql-result').replaceChildren();
      status.textContent = `The query failed: ${error.message}`;
      status.className = 'error';
    } finally {
      document.body.dataset.sql = 'done';
    }
  }

  $('sql-form').addEventListener('submit', (event) => {
    event.preventDefault();
    delete document.body.dataset.sql;
    void runSql();
  });
  $('settings').addEventListener('submit', (event) => {
    event.preventDefault();
    void load();
  });
  const saved = localStorage.getItem('fw-read-key');
  if (saved) {
    $('key').value = saved;
    void load();
  }
})();
