// The real validators from Debian's packages: `cloud-init schema` and shellcheck.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

function available(command: string): boolean {
  const found = spawnSync('bash', ['-c', `command -v ${command}`]).status === 0;
  if (!found) {
    // CI installs both (.ci/run); elsewhere say why the check does not run.
    if (process.env.CI) throw new Error(`${command} is not installed; .ci/run installs it with apt-get`);
    console.log(`skipped: ${command} is not installed (apt-get install cloud-init shellcheck)`);
  }
  return found;
}

export interface ValidatorResult {
  readonly ran: boolean;
  readonly ok: boolean;
  readonly output: string;
}

/** `cloud-init schema --config-file` on a cloud-config text. */
export function cloudInitSchema(text: string): ValidatorResult {
  if (!available('cloud-init')) return { ran: false, ok: true, output: '' };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloud-config-'));
  const file = path.join(dir, 'user-data.yaml');
  fs.writeFileSync(file, text);
  const r = spawnSync('cloud-init', ['schema', '--config-file', file], { encoding: 'utf8' });
  fs.rmSync(dir, { recursive: true, force: true });
  return { ran: true, ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

/** shellcheck on a script text. */
export function shellcheck(text: string): ValidatorResult {
  if (!available('shellcheck')) return { ran: false, ok: true, output: '' };
  const r = spawnSync('shellcheck', ['-s', 'bash', '-'], { input: text, encoding: 'utf8' });
  return { ran: true, ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}
