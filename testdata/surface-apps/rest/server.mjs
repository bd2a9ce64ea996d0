// A versioned SaaS REST API for `hark surface`: 21 sibling resources under /api/v2,
// several methods per path, slugs, issue keys, short hashes, prefixed tokens, UUIDs,
// e-mails and dates as ids, nested resources. The true endpoints are TRUTH.
import { serve } from '../lib.mjs';

export const TRUTH = [
  'GET /',
  'POST /api/v2/auth/login',
  'GET /api/v2/me', 'PATCH /api/v2/me',
  'GET /api/v2/settings', 'PUT /api/v2/settings',
  'GET /api/v2/billing', 'GET /api/v2/audit-log', 'GET /api/v2/usage', 'GET /api/v2/plans',
  'GET /api/v2/notifications', 'POST /api/v2/notifications/read-all',
  'GET /api/v2/teams', 'POST /api/v2/teams', 'GET /api/v2/teams/{}', 'DELETE /api/v2/teams/{}',
  'GET /api/v2/teams/{}/members', 'POST /api/v2/teams/{}/members',
  'GET /api/v2/projects', 'POST /api/v2/projects', 'GET /api/v2/projects/{}', 'PATCH /api/v2/projects/{}',
  'GET /api/v2/issues', 'GET /api/v2/issues/{}', 'PATCH /api/v2/issues/{}',
  'GET /api/v2/issues/{}/comments', 'POST /api/v2/issues/{}/comments',
  'GET /api/v2/articles', 'GET /api/v2/articles/trending', 'GET /api/v2/articles/{}', 'PUT /api/v2/articles/{}',
  'GET /api/v2/articles/{}/comments', 'POST /api/v2/articles/{}/comments', 'GET /api/v2/articles/{}/revisions/{}',
  'GET /api/v2/commits/{}',
  'GET /api/v2/webhooks', 'POST /api/v2/webhooks', 'DELETE /api/v2/webhooks/{}',
  'GET /api/v2/api-keys', 'POST /api/v2/api-keys',
  'GET /api/v2/invoices', 'GET /api/v2/invoices/{}',
  'GET /api/v2/exports', 'POST /api/v2/exports', 'GET /api/v2/exports/{}',
  'GET /api/v2/search', 'GET /api/v2/config', 'GET /api/v2/status',
  'GET /api/v2/users/{}', 'GET /api/v2/reports/{}',
];

const TOKEN = 'tok_' + Math.random().toString(36).slice(2, 12);

export function startServer(port = 0) {
  return serve(TRUTH, (c) => {
    const { r, req, json, html } = c;
    if (r.t === 'GET /') {
      html(200, 'Console', '<div id="app"></div>');
      return true;
    }
    if (r.t === 'POST /api/v2/auth/login') {
      json(200, { access_token: TOKEN, expires_in: 3600 });
      return true;
    }
    if (r.t === 'GET /api/v2/status' || r.t === 'GET /api/v2/config') return false;
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      json(401, { error: 'unauthorized' }, { 'www-authenticate': 'Bearer' });
      return true;
    }
    return false;
  }, port);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const s = await startServer(Number(process.env.PORT || 8090));
  console.log(`http://127.0.0.1:${s.address().port}/`);
}
