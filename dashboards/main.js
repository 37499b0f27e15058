// The one page shell (dashboards/page.html) serves votes.html, experts.html, interviews.html and ask.html
// (src/http/dashboards.ts); this picks the page's module from the path.
import { PAGES } from './shared.js';

const name = /\/([a-z]+)\.html$/.exec(location.pathname)?.[1];
const page = PAGES.find(([p]) => p === name) ?? PAGES[0];
document.title = `${page[1]} · feedback-warehouse`;
await import(`./${page[0]}.js`);
