// Every shell script the repository tracks is shellcheck-clean: the node's recipe (cloud-init/),
// the deploy-side watcher (assets/), the mini-cloud (cloud-tier/), CI (.ci/run) and the test fixtures.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { PROJECT_ROOT } from '../support/checks';
import { testUnless } from '../support/skip';

const git = spawnSync('git', ['ls-files', '-z'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
const tracked = git.status === 0 ? git.stdout.split('\0').filter(Boolean) : [];
const scripts = tracked.filter((f) => {
  const file = path.join(PROJECT_ROOT, f);
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) return false;
  if (f.endsWith('.sh')) return true;
  const head = fs.readFileSync(file, 'utf8').slice(0, 40);
  return /^#!(\/usr\/bin\/env bash|\/bin\/bash)\b/.test(head);
});
const shellcheckMissing = spawnSync('shellcheck', ['--version']).error
  ? (process.env.CI ? undefined : 'shellcheck is not installed (apt-get install shellcheck)') : undefined;
const noGit = git.status === 0 ? undefined : 'not a git checkout (git ls-files failed)';

testUnless(shellcheckMissing ?? noGit, 'shellcheck -x passes on every tracked shell script, cloud-tier/ and .ci/ included', () => {
  expect(scripts).toEqual(expect.arrayContaining(['.ci/run', 'cloud-tier/cloud.sh', 'cloud-tier/tools.sh', 'assets/gpu-node-watch.sh']));
  const r = spawnSync('shellcheck', ['-x', '-s', 'bash', ...scripts], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  expect(r.stdout + r.stderr).toBe('');
  expect(r.status).toBe(0);
});

test('no build artifacts are tracked (egg-info, lib/, .jsii, cdktf.out)', () => {
  expect(tracked.filter((f) => /(^|\/)[^/]+\.egg-info\/|^lib\/|^\.jsii$|^cdktf\.out\/|^dist\//.test(f))).toEqual([]);
});
