// The changelog and the version agree: a release a team can depend on says what changed, how to port
// each breaking change, and which commit it was cut from (what scripts/check-api.sh compares against).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { PROJECT_ROOT } from '../support/checks';
import { testUnless } from '../support/skip';

const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8'));
const changelog = fs.readFileSync(path.join(PROJECT_ROOT, 'CHANGELOG.md'), 'utf8');
const releases = [...changelog.matchAll(/^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$/gm)].map((m) => m[1]);

/** The text of one "## [name]" section. */
function section(name: string): string {
  const start = changelog.indexOf(`## [${name}]`);
  const next = changelog.indexOf('\n## [', start + 1);
  return changelog.slice(start, next < 0 ? undefined : next);
}

/** The top-level bullets of a "### heading" inside a section. */
function bullets(sectionText: string, heading: string): string[] {
  const start = sectionText.indexOf(`### ${heading}\n`);
  if (start < 0) return [];
  const rest = sectionText.slice(start + heading.length + 5);
  const body = rest.slice(0, rest.search(/^### /m) < 0 ? undefined : rest.search(/^### /m));
  return body.split(/^- /m).slice(1).map((b) => b.trim());
}

function git(...args: string[]) {
  return spawnSync('git', args, { cwd: PROJECT_ROOT, encoding: 'utf8' });
}

test('package.json has the version of the newest release, after an [Unreleased] section', () => {
  expect(changelog).toMatch(/^## \[Unreleased\]$/m);
  expect(changelog.indexOf('## [Unreleased]')).toBeLessThan(changelog.indexOf(`## [${releases[0]}]`));
  expect(releases[0]).toBe(pkg.version);
  expect(releases).toEqual([...releases].sort((a, b) => -a.localeCompare(b, 'en', { numeric: true })));
});

test('every breaking change of every release has its migration', () => {
  for (const name of ['Unreleased', ...releases]) {
    for (const entry of bullets(section(name), 'Breaking')) {
      expect([name, entry.slice(0, 80), /Migration:/.test(entry)]).toEqual([name, entry.slice(0, 80), true]);
    }
  }
  expect(bullets(section(pkg.version), 'Breaking').length).toBeGreaterThan(0);
});

const recordedCommits = (): Map<string, string> => {
  const recorded = spawnSync(process.execPath, ['scripts/changelog.mjs', 'releases'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  expect(recorded.stderr).toBe('');
  return new Map(recorded.stdout.trim().split('\n').map((l) => l.split(' ') as [string, string]));
};

test('each release but the newest records the commit it was cut from', () => {
  const commits = recordedCommits();
  for (const version of releases.slice(1)) expect([version, commits.has(version)]).toEqual([version, true]);
});

testUnless(git('rev-parse', '--git-dir').status === 0 ? undefined : 'no git history here', 'each recorded release commit has its version in package.json', () => {
  for (const [version, commit] of recordedCommits()) {
    const manifest = git('show', `${commit}:package.json`);
    expect([version, manifest.status]).toEqual([version, 0]);
    expect([version, JSON.parse(manifest.stdout).version]).toEqual([version, version]);
  }
});

test('the release notes of the issues are folded in (no CHANGES-*.md left beside the changelog)', () => {
  expect(fs.readdirSync(PROJECT_ROOT).filter((f) => /^CHANGES/.test(f))).toEqual([]);
});

test("the README's install lines name the package's version", () => {
  const readme = fs.readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
  const named = [...readme.matchAll(/cdktf[-_]openstack[-_]gpu-(\d+\.\d+\.\d+)(?:\.tgz|-py3)/g)].map((m) => m[1]);
  expect(named.length).toBeGreaterThanOrEqual(3);
  expect([...new Set(named)]).toEqual([pkg.version]);
});
