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
    if (fs.existsSync(path.join(dir, 'cloud-init', 'bin', 'gpu-node-run'))) {
      cachedRoot = dir;
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cdktf-openstack-gpu: cannot find its cloud-init/ folder above ${__dirname}; reinstall the package`);
    dir = parent;
  }
}

/** A file shipped with the package, by its path below the package root. */
export function readPackageFile(relative: string): string {
  return fs.readFileSync(path.join(packageRoot(), relative), 'utf8');
}
