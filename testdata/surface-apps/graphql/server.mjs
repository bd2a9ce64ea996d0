// A shop on GraphQL and JSON-RPC for `hark surface`: one /graphql path with queries and
// mutations by operationName (and anonymous ones), one /rpc path with JSON-RPC 2.0
// methods, a page and two REST helpers. The true endpoints are TRUTH.
import { serve } from '../lib.mjs';

export const TRUTH = [
  'GET /',
  'GET /api/health',
  'GET /api/session',
  'POST /graphql query Me',
  'POST /graphql query Products',
  'POST /graphql query Product',
  'POST /graphql query Orders',
  'POST /graphql query categories',
  'POST /graphql mutation AddToCart',
  'POST /graphql mutation RemoveFromCart',
  'POST /graphql mutation Checkout',
  'POST /graphql mutation UpdateProfile',
  'POST /rpc rpc user.get',
  'POST /rpc rpc cart.list',
  'POST /rpc rpc cart.add',
  'POST /rpc rpc order.place',
  'POST /rpc rpc order.cancel',
];

const ROUTES = ['GET /', 'GET /api/health', 'GET /api/session', 'POST /graphql', 'POST /rpc'];

export function startServer(port = 0) {
  return serve(ROUTES, (c) => {
    const { r, json, html, body } = c;
    if (r.t === 'GET /') { html(200, 'Shop', '<div id="root"></div>'); return true; }
    if (r.t === 'GET /api/health') { json(200, { ok: true, version: '3.1.0' }); return true; }
    if (r.t === 'GET /api/session') { json(200, { user: { id: 7, email: 'ann@shop.test' } }, { 'cache-control': 'no-store' }); return true; }
    const req = JSON.parse(body || '{}');
    if (r.t === 'POST /graphql') {
      const name = req.operationName || (req.query.match(/^\s*(?:query|mutation)?\s*\{?\s*(\w+)/) || [])[1];
      json(200, { data: { [name]: { id: 1, ok: true } } });
      return true;
    }
    const one = (x) => ({ jsonrpc: '2.0', id: x.id, result: { method: x.method, ok: true } });
    json(200, Array.isArray(req) ? req.map(one) : one(req));
    return true;
  }, port);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const s = await startServer(Number(process.env.PORT || 8091));
  console.log(`http://127.0.0.1:${s.address().port}/`);
}
