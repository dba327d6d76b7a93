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

const STYLE = `body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem;color:#1d2330;line-height:1.5}
body:has(table){max-width:72rem}td form{display:inline-block;margin:.1rem}td button{padding:.25rem .6rem;font-size:.85rem;white-space:nowrap}
h1{font-size:1.5rem}.ok{color:#17623a}.err{color:#a32020}table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #dde;padding:.35rem .5rem;text-align:left}code{background:#f2f3f7;padding:.1rem .3rem;border-radius:3px}
button,.button{font:inherit;padding:.5rem 1rem;border-radius:4px;border:1px solid #1d4ed8;background:#1d4ed8;color:#fff;text-decoration:none;cursor:pointer;display:inline-block}
button.secondary{background:#fff;color:#1d4ed8}form{display:inline}label{margin-right:1rem}input,select{font:inherit}`;

/** A whole page: no scripts, inline style only (the CSP forbids everything else). */
export function page(title: string, body: Html): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="referrer" content="no-referrer"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body.value}</body></html>`;
}
