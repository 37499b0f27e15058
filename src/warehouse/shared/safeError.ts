/**
 * An error message safe to log and to store in job_runs.error: row values never leave the database. DuckDB's CSV
 * and cast errors quote the offending value and the whole line ("Could not convert string 'x'", "Original Line:
 * ..."), Postgres's `detail` names key values; both may be personal data. Kept: the first line, with every quoted
 * value (single-quoted) replaced, plus the SQLSTATE when there is one; causes are followed (a wrapped error keeps its reason).
 */
export function safeErrorMessage(error: unknown, max = 1000): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const message = e instanceof Error ? e.message : String(e);
    const firstLine = message.split('\n', 1)[0] ?? '';
    const code = (e as { code?: unknown }).code;
    const scrubbed = firstLine.replace(/'(?:[^']|'')*'/g, "'…'");
    parts.push(typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? `${scrubbed} (SQLSTATE ${code})` : scrubbed);
  }
  const text = [...new Set(parts.filter(Boolean))].join(': caused by: ');
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
