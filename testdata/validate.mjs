#!/usr/bin/env node
// Validate HAR files against the HAR 1.2 JSON schema of npm's har-validator.
//   node validate.mjs FILE...     exit 0 when every file is valid, 1 otherwise (errors printed)
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const validator = require('har-validator');

/** Returns { ok, entries, errors } for one file. */
export async function validateFile(file) {
  let json;
  try {
    let text = fs.readFileSync(file, 'utf8');
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // readers must ignore a BOM
    json = JSON.parse(text);
  } catch (e) {
    return { ok: false, entries: 0, errors: [{ message: `not JSON: ${e.message}` }] };
  }
  const entries = Array.isArray(json?.log?.entries) ? json.log.entries.length : 0;
  try {
    await validator.har(json);
    return { ok: true, entries, errors: [] };
  } catch (e) {
    const errors = Array.isArray(e.errors) ? e.errors : [{ message: String(e && e.message || e) }];
    return { ok: false, entries, errors };
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const files = process.argv.slice(2);
  if (!files.length) {
    console.error('usage: node validate.mjs FILE...');
    process.exit(2);
  }
  let bad = 0;
  for (const f of files) {
    const r = await validateFile(f);
    const size = fs.existsSync(f) ? fs.statSync(f).size : 0;
    if (r.ok) {
      console.log(`ok    ${f} (${r.entries} entries, ${size} bytes)`);
    } else {
      bad++;
      console.log(`FAIL  ${f} (${r.entries} entries, ${size} bytes)`);
      for (const e of r.errors.slice(0, 50)) {
        console.log(`      ${e.dataPath ?? e.instancePath ?? ''} ${e.message ?? ''}${e.params ? ' ' + JSON.stringify(e.params) : ''}`);
      }
      if (r.errors.length > 50) console.log(`      … ${r.errors.length - 50} more`);
    }
  }
  console.log(`${files.length - bad} passed, ${bad} failed`);
  process.exit(bad ? 1 : 0);
}
