// The checks of GpuRecipe props, beside it, and whether bash runs here (for `bash -n` of the commands).
import { spawnSync } from 'child_process';
import * as path from 'path';
import { Token } from 'cdktf';
import type { GpuRecipeProps } from './recipe-options';
import { check, duplicates, fail } from '../core/validation';
import { checkProps } from '../core/validation-props';
import { GPU_RECIPE_PROPS } from '../core/validation-schemas';
import { GPU_NODE_CONFIG_FILE, GPU_NODE_INSTALL_DIR } from '../core/contract.generated';

// Files the recipe ships itself; a user file there would replace the library's scripts.
const OWN_PREFIXES = [`${GPU_NODE_INSTALL_DIR}/`, `${path.posix.dirname(GPU_NODE_CONFIG_FILE)}/`];

// Packages that install a driver of their own next to the pinned one.
const DRIVER_PACKAGE = /^(nvidia-driver-|nvidia-dkms-|nvidia-kernel-|nvidia-headless-|nvidia-open|cuda-drivers|libnvidia-compute-|xserver-xorg-video-nvidia|nvidia-utils-|linux-modules-nvidia-)/;

let bashChecked: boolean | undefined;

/** Whether `bash` runs on the synthesizing machine (for `bash -n` of recipe commands). */
export function bashAvailable(): boolean {
  if (bashChecked === undefined) bashChecked = spawnSync('bash', ['-c', 'true'], { env: process.env }).status === 0;
  return bashChecked;
}

export function validateGpuRecipe(where: string, props: GpuRecipeProps): void {
  checkProps(where, 'GpuRecipeProps', props, GPU_RECIPE_PROPS);
  for (const p of props.packages ?? []) {
    check(!DRIVER_PACKAGE.test(p), where, 'packages entry', 'a package that brings no NVIDIA driver of its own', p,
      'The recipe pins the driver with nvidiaDriver; choose NvidiaDriver.branch(...) instead of a driver package');
  }
  const files = props.files ?? [];
  for (const f of files) {
    check(f.path.startsWith('/') && !f.path.split('/').includes('..'), where, 'file path', "absolute without '..' segments", f.path,
      "Write the path from / without '..', e.g. '/etc/app/config.yaml'");
  }
  const twice = duplicates(files.map((f) => normalizePath(f.path)));
  check(twice.length === 0, where, 'files', 'files with distinct paths', twice[0], 'Merge the contents into one file');
  for (const f of files) {
    const last = f.path.split('/').pop();
    check(last !== '' && last !== '.', where, 'file path', 'the path of a file, not a directory', f.path, "Name the file, e.g. '/etc/app/config.yaml'");
    // Compared in the form the node's file system reads: '/etc//gpu-node/./x' is '/etc/gpu-node/x'.
    check(!OWN_PREFIXES.some((prefix) => normalizePath(f.path).startsWith(prefix)), where, 'file path', `outside ${OWN_PREFIXES.join(' and ')}`, f.path,
      "These hold the recipe's own scripts and settings; write your file elsewhere, e.g. under /etc/<app>/");
    check(!/[\u0000-\u001f\u007f]/.test(f.path) && f.path.length <= 4096, where, 'file path', 'a path without control characters',
      f.path, 'Fix the path');
    check(isWellFormed(f.content), where, `content of ${f.path}`, 'valid Unicode text (no lone surrogates)', '<invalid Unicode>',
      'Decode the file as UTF-8 before passing it, or download binary files in a command');
    check(!/[\u0000\ufffd]/.test(f.content), where, `content of ${f.path}`, 'text, not binary (no NUL bytes or U+FFFD replacement characters)',
      '<binary content>', 'Read text files as UTF-8; download binary files in a command (e.g. curl -o)');
  }
  for (const c of props.commands ?? []) {
    check(isWellFormed(c) && !c.includes('\u0000'), where, 'commands entry', 'valid Unicode text', '<invalid text>', 'Fix the command');
    // bash reads a CR as part of the word: `apt-get install -y htop\r` asks for a package 'htop\r'.
    check(!c.includes('\r'), where, 'commands entry', 'a command without carriage returns (bash takes a CR as part of the word)', c,
      'Save the commands with LF line ends, not CRLF');
  }
  const commands = props.commands ?? [];
  if (commands.length > 0 && !commands.some((c) => Token.isUnresolved(c))) {
    // Without bash on the synthesizing machine the syntax is first checked on the node; nodes say so (checkSoftware in recipe-rules.ts).
    if (bashAvailable()) {
      const r = spawnSync('bash', ['-n'], { input: commands.join('\n') + '\n', encoding: 'utf8' });
      const first = (r.stderr || '').split('\n')[0].replace(/^bash: (line \d+:)?\s*/, '');
      if (r.status !== 0) {
        fail(where, 'commands', 'valid bash (bash -n)', commands.length === 1 ? commands[0] : `${commands.length} commands`,
          `bash says: ${first}`);
      }
      // bash -n only warns about a here-document without its end line, and the node would then write the
      // commands after it into the file instead of running them.
      const heredoc = /here-document at line \d+ delimited by end-of-file \(wanted `([^']*)'\)/.exec(r.stderr || '');
      if (heredoc) {
        fail(where, 'commands', 'valid bash (bash -n)', commands.length === 1 ? commands[0] : `${commands.length} commands`,
          `bash says: ${first}; end the here-document with a line holding only ${heredoc[1]}`);
      }
    }
  }
}

/** The path as the file system reads it: no empty or '.' segments ('..' is refused before). */
export function normalizePath(p: string): string {
  return `/${p.split('/').filter((s) => s !== '' && s !== '.').join('/')}`;
}

function isWellFormed(text: string): boolean {
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text);
}
