// Small DOM and number helpers the dashboard modules share.

export const $ = (id) => document.getElementById(id);

/** `el('p', { className: 'x' }, 'text', child)`: an element with properties and children (strings become text). */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name.startsWith('aria') || name.startsWith('data-') || name === 'role' || name === 'for')
      node.setAttribute(name.replace(/^aria(?=[A-Z])/, 'aria-').toLowerCase(), value);
    else node[name] = value;
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

export const fmtPct = (x) => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(1)}%`);
export const fmtNum = (x, digits = 1) => (x === null || x === undefined ? '–' : Number(x).toFixed(digits));
