#!/usr/bin/env node
// Fails when a public type or member of the library (the jsii assembly's root module, not the generated
// provider bindings under `openstack`) has no doc comment. Run after `jsii` has written .jsii.
import fs from 'node:fs';

const assembly = JSON.parse(fs.readFileSync(new URL('../.jsii', import.meta.url), 'utf8'));
const missing = [];
const documented = (docs) => Boolean(docs && docs.summary && docs.summary.trim());
let checked = 0;
for (const [fqn, type] of Object.entries(assembly.types)) {
  if (type.namespace && type.namespace.split('.')[0] === 'openstack') continue;
  checked += 1;
  if (!documented(type.docs)) missing.push(fqn);
  for (const member of [...(type.properties ?? []), ...(type.methods ?? [])]) {
    // A member inherited from an interface carries the interface's docs in TypeScript, but jsii records
    // only what is written on the class: `overrides` tells us it is documented where it is declared.
    checked += 1;
    if (!documented(member.docs) && !member.overrides) missing.push(`${fqn}#${member.name}`);
  }
  for (const member of type.members ?? []) {
    checked += 1;
    if (!documented(member.docs)) missing.push(`${fqn}.${member.name}`);
  }
}
if (missing.length > 0) {
  console.error(`api-docs: ${missing.length} of ${checked} public types and members have no doc comment:`);
  for (const name of missing) console.error(`  ${name}`);
  process.exit(1);
}
console.log(`api-docs: all ${checked} public types and members are documented`);
