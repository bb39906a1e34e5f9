#!/usr/bin/env node
// Generates the cdktf bindings for the OpenStack provider into .gen/providers/openstack,
// where `cdktf get` would put them, from the schema this project pins in provider-schema/.
// No prebuilt @cdktf/provider-openstack exists, and `cdktf get` needs the internet.
//
//   node scripts/gen-bindings.mjs [--schema FILE] [--out DIR] [--force]
//
// Skips the work when the output was made from the same schema by the same generator.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

process.env.CHECKPOINT_DISABLE = '1';
const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const schemaFile = path.resolve(root, option('--schema', 'provider-schema/openstack-3.4.0.json'));
const genRoot = path.resolve(root, option('--out', '.gen'));
const force = args.includes('--force');

const PROVIDER = 'terraform-provider-openstack/openstack';
const cdktfJson = JSON.parse(fs.readFileSync(path.join(root, 'cdktf.json'), 'utf8'));
const constraintText = cdktfJson.terraformProviders.find((p) => p.startsWith(PROVIDER + '@'));
if (!constraintText) throw new Error(`cdktf.json: terraformProviders has no entry for ${PROVIDER}@<version>`);

const schemaText = fs.readFileSync(schemaFile, 'utf8');
const generatorVersion = require('@cdktf/provider-generator/package.json').version;
const stamp = createHash('sha256').update(schemaText).update(constraintText).update(generatorVersion).digest('hex');
const outDir = path.join(genRoot, 'providers', 'openstack');
const stampFile = path.join(outDir, '.generated-from');
if (!force && fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8').trim() === stamp) {
  console.log(`gen-bindings: ${path.relative(root, outDir)} is up to date`);
  process.exit(0);
}

// Deep imports: the package index loads jsii-pacmak, which only other target languages need.
const { TerraformProviderGenerator } = require('@cdktf/provider-generator/lib/get/generator/provider-generator');
const { CodeMaker } = require('codemaker');
const { TerraformProviderConstraint, ConstructsMakerProviderTarget, Language } = require('@cdktf/commons');

const started = Date.now();
const code = new CodeMaker();
const generator = new TerraformProviderGenerator(code, JSON.parse(schemaText));
const constraint = new TerraformProviderConstraint(constraintText);
generator.generate(new ConstructsMakerProviderTarget(constraint, Language.TYPESCRIPT));

fs.rmSync(outDir, { recursive: true, force: true });
await code.save(genRoot);
fs.writeFileSync(stampFile, stamp + '\n');

let files = 0;
let lines = 0;
const walk = (dir) => {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(p);
    else if (p.endsWith('.ts')) {
      files += 1;
      lines += fs.readFileSync(p, 'utf8').split('\n').length;
    }
  }
};
walk(outDir);
console.log(`gen-bindings: wrote ${files} files, ${lines} lines to ${path.relative(root, outDir)} in ${Date.now() - started} ms`);
