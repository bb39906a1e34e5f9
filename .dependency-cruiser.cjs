// The import rules of src/ (issue 22), checked by __tests__/repository/layout.test.ts with dependency-cruiser.
// Folders by concept, each importing only from the folders before it in LAYERS.
const LAYERS = ['core', 'cloud', 'network', 'recipe', 'image', 'node', 'fleet', 'slurm'];

const upward = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `no-upward-import-from-${layer}`,
  comment: `src/${layer} may import only from ${LAYERS.slice(0, i).join(', ') || 'nothing else in src'}`,
  severity: 'error',
  from: { path: `^src/${layer}/` },
  to: { path: `^src/(${LAYERS.slice(i + 1).join('|')})/` },
}));

module.exports = {

  forbidden: [
    {
      name: 'no-runtime-cycle',
      comment: 'no cycle of imports that exist at run time',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'no-cycle-across-folders',
      comment: 'a cycle, type-only imports included, stays inside one folder (a construct and the checks beside it)',
      severity: 'error',
      from: { path: '^src/([^/]+)/' },
      to: { circular: true, via: { pathNot: '^src/$1/' } },
    },
    {
      name: 'no-index-inside',
      comment: 'src/index.ts is the package entry; code in src imports the module it needs',
      severity: 'error',
      from: { path: '^src/[^/]+/' },
      to: { path: '^src/index\\.ts$' },
    },
    ...upward,
  ],
  options: {
    tsConfig: { fileName: 'tsconfig.json' },
    // Type-only imports count: a props type imported upward is an upward import.
    tsPreCompilationDeps: true,
    doNotFollow: { path: ['node_modules', '^\\.gen/'] },
    exclude: { path: ['^\\.gen/', 'node_modules'] },
  },
};
