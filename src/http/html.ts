/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Tagged template whose interpolations are escaped unless they are `Html` already. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

type Interpolation = string | number | Html | readonly Html[] | null | undefined;

export function html(strings: TemplateStringsArray, ...values: Interpolation[]): Html {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '');
  });
  return new Html(out);
}

function render(value: Interpolation): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map((v: Html) => v.value).join('');
  return escapeHtml(String(value));
}

/**
 * Fits 375 px phones and 1280 px windows without horizontal scrolling: long words break anywhere, form controls
 * never outgrow the page (a textarea takes the page's width, whatever its cols), dates never wrap, and under 48rem a table becomes one block per row, each cell labelled by
 * its `data-label` (tables with many columns cannot fit a phone otherwise).
 */
const STYLE = `body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem;color:#1d2330;line-height:1.5;overflow-wrap:anywhere}
body:has(table){max-width:76rem}td form{display:inline-block;margin:.1rem}td button{padding:.25rem .6rem;font-size:.85rem;white-space:nowrap}
h1{font-size:1.5rem}.ok{color:#17623a}.err{color:#a32020}table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #dde;padding:.35rem .5rem;text-align:left;vertical-align:top}code{background:#f2f3f7;padding:.1rem .3rem;border-radius:3px}
.nowrap{white-space:nowrap}details.long summary{cursor:pointer}details.long[open] summary{display:none}
button,.button{font:inherit;padding:.5rem 1rem;border-radius:4px;border:1px solid #1d4ed8;background:#1d4ed8;color:#fff;text-decoration:none;cursor:pointer;display:inline-block}
button.secondary{background:#fff;color:#1d4ed8}form{display:inline}label{margin-right:1rem;display:inline-block;max-width:100%}input,select{font:inherit;max-width:100%;box-sizing:border-box}textarea{font:.85rem ui-monospace,monospace;width:100%;box-sizing:border-box}
@media (max-width:48rem){body{margin:1.5rem auto}table,thead,tbody,tr,td{display:block}thead{display:none}tr{border-bottom:2px solid #c9cbe0;padding:.4rem 0}
td{border:0;padding:.15rem 0}td[data-label]::before{content:attr(data-label) ": ";font-weight:600}td:empty{display:none}}`;

/**
 * Text that may be long (Amazon's error descriptions): the first `width` characters with an ellipsis, the whole text
 * on hover (title) and on expanding (details), without scripts.
 */
export function longText(value: string | null | undefined, width = 40): Html {
  if (value === null || value === undefined) return html``;
  const chars = [...value];
  if (chars.length <= width) return html`${value}`;
  return html`<details class="long" title="${value}"><summary>${chars.slice(0, width - 1).join('')}…</summary>${value}</details>`;
}

/** A whole page: no scripts, inline style only (the CSP forbids everything else). */
export function page(title: string, body: Html): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="referrer" content="no-referrer"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body.value}</body></html>`;
}
