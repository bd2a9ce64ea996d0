#!/usr/bin/env node
// Validates a SARIF log against the SARIF 2.1.0 JSON schema (the copy shipped in
// @microsoft/jest-sarif) with ajv. Exit 0 valid, 1 not.
import fs from 'node:fs';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const Ajv = require('ajv');
const schema = JSON.parse(fs.readFileSync(require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8'));
const ajv = new Ajv({ allErrors: true, schemaId: 'auto' });
try { ajv.addMetaSchema(require('ajv/lib/refs/json-schema-draft-04.json')); } catch {}
const validate = ajv.compile(schema);
const log = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
if (validate(log)) {
  console.log(`valid: SARIF ${log.version}, ${log.runs[0].results.length} results`);
} else {
  console.error('invalid:', JSON.stringify(validate.errors.slice(0, 5)));
  process.exit(1);
}
