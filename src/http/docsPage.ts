import { PROBLEM_TYPES } from './problem.ts';

function esc(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

type Operation = {
  operationId: string;
  summary: string;
  description?: string;
  'x-scope'?: string;
  parameters?: { name: string; in: string; required: boolean; description?: string }[];
  requestBody?: { content: { 'application/json': { schema: unknown } } };
  responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>;
};

/** GET /docs: a readable, self-contained reference rendered from the OpenAPI document (no CDN, works offline). */
export function docsPage(doc: Record<string, unknown>): string {
  const paths = doc.paths as Record<string, Record<string, Operation>>;
  const sections: string[] = [];
  const toc: string[] = [];
  for (const [path, methods] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(methods)) {
      if (method === 'options') continue; // one sentence below covers every path's OPTIONS
      toc.push(
        `<li><a href="#${esc(op.operationId)}"><code>${method.toUpperCase()} ${esc(path)}</code></a> ${esc(op.summary)}</li>`,
      );
      const params = (op.parameters ?? [])
        .map(
          (p) =>
            `<li><code>${esc(p.name)}</code> (${esc(p.in)}${p.required ? ', required' : ''})${p.description ? `: ${esc(p.description)}` : ''}</li>`,
        )
        .join('');
      const body = op.requestBody
        ? `<h4>Request body</h4><pre>${esc(JSON.stringify(op.requestBody.content['application/json'].schema, null, 2))}</pre>`
        : '';
      const responses = Object.entries(op.responses)
        .map(([status, r]) => {
          const schema = r.content?.['application/json']?.schema;
          const types = Object.keys(r.content ?? {}).filter((t) => t !== 'application/json');
          return `<li><b>${esc(status)}</b> ${esc(r.description)}${types.length > 0 ? ` <small>(${types.map((t) => `<code>${esc(t)}</code>`).join(', ')})</small>` : ''}${schema ? `<details><summary>schema</summary><pre>${esc(JSON.stringify(schema, null, 2))}</pre></details>` : ''}</li>`;
        })
        .join('');
      sections.push(`<section id="${esc(op.operationId)}">
<h3><code>${method.toUpperCase()} ${esc(path)}</code></h3>
<p>${esc(op.summary)}${op['x-scope'] ? ` &middot; scope <code>${esc(op['x-scope'])}</code>` : ' &middot; no key needed'}</p>
${op.description ? `<p>${esc(op.description)}</p>` : ''}
${params ? `<h4>Parameters</h4><ul>${params}</ul>` : ''}${body}
<h4>Responses</h4><ul>${responses}</ul></section>`);
    }
  }
  const problemRows = PROBLEM_TYPES.map(
    (p) =>
      `<tr id="problem-${esc(p.slug)}"><td><code>${esc(p.slug)}</code></td><td>${p.status}</td><td>${esc(p.title)}</td><td>${esc(p.when)}</td></tr>`,
  ).join('');
  const info = doc.info as { title: string; version: string; description: string; license?: { identifier: string } };
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(info.title)} API reference</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;color:#222}
code,pre{font:13px ui-monospace,monospace;background:#f4f4f4}pre{padding:.5rem;overflow:auto}section{border-top:1px solid #ddd;margin-top:1.5rem}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left}</style></head><body>
<h1>${esc(info.title)} API <small>${esc(info.version)}${info.license ? ` &middot; ${esc(info.license.identifier)}` : ''}</small></h1><p>${esc(info.description)}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). Errors are <code>application/problem+json</code> (RFC 9457).
Every path answers <code>OPTIONS</code> with 204 and an <code>Allow</code> header listing its methods; another method is 405 <a href="#problem-method-not-allowed">method-not-allowed</a> with the same <code>Allow</code>.</p>
<h2>Operations</h2><ul>${toc.join('')}</ul>${sections.join('')}
<h2 id="problems">Problem types</h2><table><tr><th>type</th><th>status</th><th>title</th><th>when</th></tr>${problemRows}</table>
</body></html>`;
}
