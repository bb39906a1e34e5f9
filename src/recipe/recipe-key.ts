// The content key of a recipe on a base image: what a baked image's done markers and tag record.
import { createHash } from 'crypto';
import type { RecipeSpec, RecipeStep } from './recipe-options';
import { readNodeScript } from '../core/package-files';
import { HEALTH_UNIT_FILES, SHARED_FILES, UNIT_FILE } from './recipe-render';

/**
 * A stable key of what `recipe` installs on `baseImage`: the shipped scripts of the keyed
 * `steps` (with the runner, its libraries and the unit), the pinned versions, packages, files and
 * commands. Equal recipes give equal keys everywhere.
 */
export function recipeContentKey(recipe: RecipeSpec, baseImage: string, steps: readonly RecipeStep[], libraries: readonly string[] = []): string {
  const scripts = steps.filter((s) => s.keyed && s.script !== undefined).map((s) => s.script!);
  const content = {
    format: 1,
    baseImage,
    scripts: Object.fromEntries([...SHARED_FILES, ...libraries, UNIT_FILE, ...HEALTH_UNIT_FILES, ...scripts].map((f) => [f, sha256(readNodeScript(f))])),
    nvidiaDriver: recipe.nvidiaDriver.toString(),
    cuda: recipe.cuda?.versionString ?? null,
    containerToolkit: recipe.containerToolkit ? recipe.containerToolkitVersion ?? 'latest' : null,
    burnInSeconds: recipe.burnInSeconds,
    packages: recipe.packages,
    files: recipe.files.map((f) => ({ path: f.path, content: sha256(f.content), permissions: f.permissions ?? '0644', owner: f.owner ?? 'root:root' })),
    commands: recipe.commands,
  };
  return sha256(JSON.stringify(content)).slice(0, 16);
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
