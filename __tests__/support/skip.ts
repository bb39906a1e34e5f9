// A test that cannot run here is a skipped test in jest's summary, with its reason in its name;
// never a test that returns early and counts as passed.
import { spawnSync } from 'child_process';

/**
 * Why the shared offline checks (../shared/tools, terraform) cannot run, or undefined. CI sets
 * REQUIRE_SHARED_CHECKS=1 (.ci/run): there a missing check is an error, not a skip.
 */
export function sharedCheckGap(why: string | undefined): string | undefined {
  if (why && process.env.REQUIRE_SHARED_CHECKS === '1') {
    throw new Error(`REQUIRE_SHARED_CHECKS=1 but a shared check cannot run: ${why}`);
  }
  return why;
}

/** `test`, or `test.skip` named `<title> [skipped: <why>]` when `why` is set. */
export function testUnless(why: string | undefined, title: string, fn: jest.ProvidesCallback, timeout?: number): void {
  if (why) {
    test.skip(`${title} [skipped: ${why}]`, fn);
    return;
  }
  test(title, fn, timeout);
}

/**
 * Why a test that runs `command` cannot run here (`command --version` fails), or undefined. Where CI is set, a
 * missing tool is an error, not a skip: .ci/run installs it (`install` says how).
 */
export function toolGap(command: string, install: string): string | undefined {
  if (!spawnSync(command, ['--version']).error) return undefined;
  const why = `${command} is not installed (${install})`;
  if (process.env.CI) throw new Error(why);
  return why;
}
