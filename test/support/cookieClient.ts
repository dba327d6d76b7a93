/**
 * A small browser stand-in for component tests: fetch with redirects left to the caller (so each hop can be
 * asserted) and a cookie jar that honours Path, Max-Age and Secure the way a browser does.
 */
export interface StoredCookie {
  name: string;
  value: string;
  path: string;
  secure: boolean;
  httpOnly: boolean;
  sameSite: string | undefined;
  maxAge: number | undefined;
}

export interface Exchange {
  status: number;
  headers: Headers;
  location: string | undefined;
  setCookies: string[];
  body: string;
  /** Where a 303 sent the client before this answer (the callback's result URL), when one did. */
  seeOther?: string;
}

export class CookieClient {
  readonly jar = new Map<string, StoredCookie>();
  /** Every response body this client saw, for the secret scan. */
  readonly bodies: string[] = [];

  async get(url: string): Promise<Exchange> {
    return this.request(url, { method: 'GET' });
  }

  async postForm(url: string, form: Record<string, string>): Promise<Exchange> {
    return this.request(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });
  }

  async request(url: string, init: RequestInit): Promise<Exchange> {
    const target = new URL(url);
    const cookie = [...this.jar.values()]
      .filter((c) => target.pathname.startsWith(c.path) && (!c.secure || target.protocol === 'https:'))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
    const headers = new Headers(init.headers);
    if (cookie !== '') headers.set('Cookie', cookie);
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    const setCookies = response.headers.getSetCookie();
    for (const line of setCookies) this.store(line);
    const body = await response.text();
    this.bodies.push(body);
    const location = response.headers.get('location') ?? undefined;
    // A 303 (the callback's post/redirect/get) is followed as a browser follows it, so a case sees the result page;
    // `seeOther` keeps the hop for cases that assert it.
    if (response.status === 303 && location !== undefined) {
      const page = await this.get(new URL(location, url).toString());
      return { ...page, seeOther: new URL(location, url).toString() };
    }
    return { status: response.status, headers: response.headers, location: location === undefined ? undefined : new URL(location, url).toString(), setCookies, body };
  }

  private store(line: string): void {
    const [pair = '', ...attributes] = line.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    const cookie: StoredCookie = { name: pair.slice(0, eq), value: pair.slice(eq + 1), path: '/', secure: false, httpOnly: false, sameSite: undefined, maxAge: undefined };
    for (const attribute of attributes) {
      const [key = '', value = ''] = attribute.split('=');
      switch (key.toLowerCase()) {
        case 'path':
          cookie.path = value;
          break;
        case 'max-age':
          cookie.maxAge = Number(value);
          break;
        case 'secure':
          cookie.secure = true;
          break;
        case 'httponly':
          cookie.httpOnly = true;
          break;
        case 'samesite':
          cookie.sameSite = value.toLowerCase();
          break;
      }
    }
    if (cookie.maxAge !== undefined && cookie.maxAge <= 0) this.jar.delete(cookie.name);
    else this.jar.set(cookie.name, cookie);
  }
}
