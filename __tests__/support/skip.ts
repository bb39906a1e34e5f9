// A test that cannot run here is a skipped test in jest's summary, with its reason in its name;
// never a test that returns early and counts as passed.

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
