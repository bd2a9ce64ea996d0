// A server-rendered shop for `hark surface`: locale prefixes (/en, /fr, /de), product
// slugs, HTML forms (GET search, POST login, cart, newsletter), hashed assets and a small
// JSON helper. The true endpoints are TRUTH (assets are not endpoints).
import { serve } from '../lib.mjs';

export const TRUTH = [
  'GET /',
  'GET /{}',
  'GET /{}/products',
  'GET /{}/products/{}',
  'GET /{}/search',
  'GET /{}/cart',
  'POST /{}/cart',
  'GET /{}/login',
  'POST /{}/login',
  'POST /{}/newsletter',
  'GET /{}/account',
  'GET /{}/orders/{}',
  'GET /api/cart-count',
];

const SESSION = 's' + Math.random().toString(36).slice(2, 12);
const LOCALES = ['en', 'fr', 'de'];

export function startServer(port = 0) {
  return serve(TRUTH, (c) => {
    const { r, req, html, json, url } = c;
    const loc = r.params[0];
    if (r.t !== 'GET /' && r.t !== 'GET /api/cart-count' && !LOCALES.includes(loc)) { json(404, { error: 'no such locale' }); return true; }
    const authed = (req.headers.cookie || '').includes(`sid=${SESSION}`);
    const form = (action, fields, method = 'post') =>
      `<form method="${method}" action="/${loc}/${action}">${fields.map((f) => `<input name="${f}">`).join('')}<button>Go</button></form>`;
    switch (r.t) {
      case 'GET /': html(302, 'Moved', '', { location: '/en' }); return true;
      case 'GET /api/cart-count': json(200, { count: 2 }); return true;
      case 'GET /{}': html(200, `Home ${loc}`, `<a href="/${loc}/products">Products</a>` + form('search', ['q'], 'get') + form('newsletter', ['email'])); return true;
      case 'GET /{}/products': html(200, 'Products', '<a href="green-tea">Green tea</a>'); return true;
      case 'GET /{}/products/{}': html(200, `Product ${r.params[1]}`, form('cart', ['sku', 'qty'])); return true;
      case 'GET /{}/search': html(200, 'Search', `<p>${url.searchParams.get('q')}</p>`); return true;
      case 'GET /{}/login': html(200, 'Log in', form('login', ['email', 'password'])); return true;
      case 'POST /{}/login': html(302, 'Moved', '', { location: `/${loc}/account`, 'set-cookie': `sid=${SESSION}; Path=/; HttpOnly; SameSite=Lax` }); return true;
      case 'POST /{}/cart': case 'POST /{}/newsletter': html(303, 'Moved', '', { location: `/${loc}/cart` }); return true;
      case 'GET /{}/cart': html(200, 'Cart', '<p>2 items</p>'); return true;
      case 'GET /{}/account': case 'GET /{}/orders/{}':
        if (!authed) { html(302, 'Moved', '', { location: `/${loc}/login` }); return true; }
        html(200, 'Account', '<p>ann@shop.test</p>', { 'cache-control': 'private' }); return true;
    }
    return false;
  }, port);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const s = await startServer(Number(process.env.PORT || 8092));
  console.log(`http://127.0.0.1:${s.address().port}/`);
}
