import * as fs from 'fs';
import * as path from 'path';

let cachedRoot: string | undefined;

/**
 * The package's root folder, found from this file upwards, so the shipped files
 * (cloud-init/, assets/) are found both from src/ (ts-node, tests) and from lib/ (npm package).
 */
export function packageRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, NODE_SCRIPTS_DIR, 'bin', 'gpu-node-run'))) {
      cachedRoot = dir;
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cdktf-openstack-gpu: cannot find its cloud-init/ folder above ${__dirname}; reinstall the package`);
    dir = parent;
  }
}

/**
 * The node's scripts below the package root: below it, `bin/`, `lib/`, `steps/` and `systemd/` as they are
 * installed on the node (cloud-init/slurm/ holds a SlurmCluster's).
 */
export const NODE_SCRIPTS_DIR = 'cloud-init/node';

const fileCache = new Map<string, string>();

/**
 * A file shipped with the package, by its path below the package root. Read once per process:
 * every node of a fleet embeds the same scripts, and the shipped files do not change while it runs.
 */
export function readPackageFile(relative: string): string {
  let text = fileCache.get(relative);
  if (text === undefined) {
    text = fs.readFileSync(path.join(packageRoot(), relative), 'utf8');
    fileCache.set(relative, text);
  }
  return text;
}

/** A file of the node's scripts, by its path below NODE_SCRIPTS_DIR (e.g. `lib/gpu-node-common.sh`). */
export function readNodeScript(relative: string): string {
  return readPackageFile(`${NODE_SCRIPTS_DIR}/${relative}`);
}
