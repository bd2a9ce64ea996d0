#!/usr/bin/env node
// Validates an OpenAPI document with @apidevtools/swagger-parser (exit 0 valid, 1 not).
import SwaggerParser from '@apidevtools/swagger-parser';
try {
  const api = await SwaggerParser.validate(process.argv[2]);
  console.log(`valid: OpenAPI ${api.openapi}, ${Object.keys(api.paths).length} paths`);
} catch (e) {
  console.error(`invalid: ${e.message}`);
  process.exit(1);
}
