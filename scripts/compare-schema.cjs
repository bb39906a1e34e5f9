#!/usr/bin/env node
'use strict';
/**
 * Conformance checker for the project's pinned provider schema.
 *
 *   node scripts/compare-schema.cjs PINNED.json REFERENCE.json
 *   node scripts/compare-schema.mjs PINNED.json REFERENCE.json   (ESM entry, same behaviour)
 *
 * For the provider block and every resource / data source present in PINNED,
 * compares attributes (name, type, required/optional/computed/sensitive) and
 * nested blocks (name, nesting_mode, min_items/max_items) recursively against
 * REFERENCE (output of `terraform providers schema -json`). Descriptions and
 * `deprecated` are ignored. Prints one line per difference.
 *
 * Exit status: 0 = no differences, 1 = differences, 2 = unreadable input.
 * No dependencies; CommonJS so it can be required from ts-jest (CommonJS mode).
 */
const fs = require('node:fs');

const FLAGS = ['required', 'optional', 'computed', 'sensitive'];

const fmt = (v) => JSON.stringify(v === undefined ? null : v);

/** Deep equality for cty JSON types (strings / arrays / plain objects). */
function sameType(a, b) {
  return fmt(canonicalType(a)) === fmt(canonicalType(b));
}
function canonicalType(t) {
  if (Array.isArray(t)) return t.map(canonicalType);
  if (t && typeof t === 'object') {
    return Object.fromEntries(Object.keys(t).sort().map((k) => [k, canonicalType(t[k])]));
  }
  return t;
}

/** nested_type (plugin-framework nested attributes), compared without descriptions. */
function stripNestedType(nt) {
  if (!nt || typeof nt !== 'object') return nt;
  const out = { nesting_mode: nt.nesting_mode };
  if (nt.min_items) out.min_items = nt.min_items;
  if (nt.max_items) out.max_items = nt.max_items;
  out.attributes = {};
  for (const name of Object.keys(nt.attributes || {}).sort()) {
    const a = nt.attributes[name];
    const s = {};
    if (a.type !== undefined) s.type = canonicalType(a.type);
    if (a.nested_type !== undefined) s.nested_type = stripNestedType(a.nested_type);
    for (const f of FLAGS) if (a[f]) s[f] = true;
    out.attributes[name] = s;
  }
  return out;
}

function compareAttribute(label, path, p, r, out) {
  const where = `${label}: attribute ${path}`;
  if (p.type !== undefined || r.type !== undefined) {
    if (!sameType(p.type, r.type)) out.push(`${where}: type ${fmt(p.type)} != ${fmt(r.type)}`);
  }
  if (p.nested_type !== undefined || r.nested_type !== undefined) {
    const a = fmt(stripNestedType(p.nested_type));
    const b = fmt(stripNestedType(r.nested_type));
    if (a !== b) out.push(`${where}: nested_type ${a} != ${b}`);
  }
  for (const f of FLAGS) {
    const a = p[f] === true;
    const b = r[f] === true;
    if (a !== b) out.push(`${where}: ${f} ${a} != ${b}`);
  }
}

function compareBlock(label, prefix, p, r, out) {
  const pa = (p && p.attributes) || {};
  const ra = (r && r.attributes) || {};
  for (const name of Object.keys(pa).sort()) {
    const path = prefix + name;
    if (!(name in ra)) out.push(`${label}: attribute ${path}: missing in reference`);
    else compareAttribute(label, path, pa[name], ra[name], out);
  }
  for (const name of Object.keys(ra).sort()) {
    if (!(name in pa)) out.push(`${label}: attribute ${prefix + name}: missing in pinned`);
  }

  const pb = (p && p.block_types) || {};
  const rb = (r && r.block_types) || {};
  for (const name of Object.keys(pb).sort()) {
    const path = prefix + name;
    if (!(name in rb)) {
      out.push(`${label}: block ${path}: missing in reference`);
      continue;
    }
    const x = pb[name];
    const y = rb[name];
    if (x.nesting_mode !== y.nesting_mode) {
      out.push(`${label}: block ${path}: nesting_mode ${fmt(x.nesting_mode)} != ${fmt(y.nesting_mode)}`);
    }
    for (const k of ['min_items', 'max_items']) {
      const a = x[k] || 0;
      const b = y[k] || 0;
      if (a !== b) out.push(`${label}: block ${path}: ${k} ${a} != ${b}`);
    }
    compareBlock(label, path + '.', x.block, y.block, out);
  }
  for (const name of Object.keys(rb).sort()) {
    if (!(name in pb)) out.push(`${label}: block ${prefix + name}: missing in pinned`);
  }
}

function compareSchemaEntry(label, p, r, out) {
  const pv = p.version || 0;
  const rv = r.version || 0;
  if (pv !== rv) out.push(`${label}: version ${pv} != ${rv}`);
  compareBlock(label, '', p.block, r.block, out);
}

/** Pick the provider entry of a schema document (by address, else the only one). */
function providerEntry(doc, address) {
  const ps = (doc && doc.provider_schemas) || {};
  if (address && ps[address]) return ps[address];
  const keys = Object.keys(ps);
  return keys.length === 1 ? ps[keys[0]] : undefined;
}

/**
 * Compare a pinned schema document against a reference document.
 * @param {object} pinned    parsed `terraform providers schema -json` document (subset)
 * @param {object} reference parsed `terraform providers schema -json` document
 * @returns {string[]} one human-readable line per difference; [] when conformant
 */
function compareSchemas(pinned, reference) {
  const out = [];
  const pinnedProviders = (pinned && pinned.provider_schemas) || {};
  const addresses = Object.keys(pinnedProviders);
  if (addresses.length === 0) return ['pinned: no provider_schemas'];

  for (const address of addresses.sort()) {
    const p = pinnedProviders[address];
    const r = providerEntry(reference, address);
    const scope = addresses.length > 1 ? `${address} ` : '';
    if (!r) {
      out.push(`${scope}provider ${address}: missing in reference`);
      continue;
    }
    if (!(reference.provider_schemas || {})[address]) {
      out.push(`provider address ${fmt(address)} not in reference; compared with its only provider`);
    }
    if (p.provider) {
      if (r.provider) compareSchemaEntry(`${scope}provider`, p.provider, r.provider, out);
      else out.push(`${scope}provider: missing in reference`);
    }
    for (const [kind, key] of [['resource', 'resource_schemas'], ['data source', 'data_source_schemas']]) {
      const pm = p[key] || {};
      const rm = r[key] || {};
      for (const name of Object.keys(pm).sort()) {
        const label = `${scope}${kind} ${name}`;
        if (!(name in rm)) out.push(`${label}: missing in reference`);
        else compareSchemaEntry(label, pm[name], rm[name], out);
      }
    }
  }
  return out;
}

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** CLI entry; returns the exit status. */
function main(argv, log = console.log, err = console.error) {
  if (argv.length !== 2) {
    err('usage: node scripts/compare-schema.mjs PINNED.json REFERENCE.json');
    return 2;
  }
  const docs = [];
  for (const file of argv) {
    try {
      const doc = readJson(file);
      if (!doc || typeof doc !== 'object' || !doc.provider_schemas) throw new Error('no provider_schemas');
      docs.push(doc);
    } catch (e) {
      err(`cannot read ${file}: ${e.message}`);
      return 2;
    }
  }
  const diffs = compareSchemas(docs[0], docs[1]);
  for (const line of diffs) log(line);
  return diffs.length === 0 ? 0 : 1;
}

module.exports = { compareSchemas, main };

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
