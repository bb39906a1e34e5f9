// Reads CHANGELOG.md for scripts and tests (one parser, so the gate and the tests agree on its form).
//   node scripts/changelog.mjs releases   -> "<version> <commit>" per release with a recorded commit, newest first
//   node scripts/changelog.mjs breaking   -> the text of "### Breaking" under "## [Unreleased]"
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Splits the changelog into its "## [...]" sections. */
export function parseChangelog(text) {
  const sections = [];
  let current;
  for (const line of text.split('\n')) {
    const heading = /^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?\s*$/.exec(line);
    if (heading) {
      current = { name: heading[1], date: heading[2], lines: [] };
      sections.push(current);
    } else if (current && !/^\[[^\]]+\]: /.test(line)) {
      current.lines.push(line);
    }
  }
  return sections.map((s) => {
    const body = s.lines.join('\n');
    // A release records the commit it was cut from; "Release commit: <40 hex digits>".
    const commit = /^Release commit: ([0-9a-f]{40})\b/m.exec(body)?.[1];
    return { name: s.name, date: s.date, body, commit, subsections: subsections(s.lines) };
  });
}

function subsections(lines) {
  const out = {};
  let name;
  for (const line of lines) {
    const h = /^### (.+?)\s*$/.exec(line);
    if (h) { name = h[1]; out[name] = ''; continue; }
    if (name) out[name] += line + '\n';
  }
  return out;
}

export function readChangelog(path = new URL('../CHANGELOG.md', import.meta.url)) {
  return parseChangelog(readFileSync(path, 'utf8'));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const sections = readChangelog(process.argv[3] ?? new URL('../CHANGELOG.md', import.meta.url));
  const what = process.argv[2];
  if (what === 'releases') {
    for (const s of sections) if (s.name !== 'Unreleased' && s.commit) console.log(`${s.name} ${s.commit}`);
  } else if (what === 'breaking') {
    const unreleased = sections.find((s) => s.name === 'Unreleased');
    if (!unreleased) { console.error('CHANGELOG.md has no "## [Unreleased]" section'); process.exit(1); }
    process.stdout.write(unreleased.subsections.Breaking ?? '');
  } else {
    console.error('usage: node scripts/changelog.mjs releases|breaking [CHANGELOG.md]');
    process.exit(2);
  }
}
