import { nodeContract } from '../../src/core/node-contract';

/**
 * A value for every variable of GPU_NODE_REQUIRED_VARS, as the script tests' base environment
 * (the recipe writes them all on a real node; the scripts refuse to run without one). These are
 * the values the scripts defaulted to before the contract: one GPU of any model, driver 570 open,
 * CUDA 12.8, no container smoke check, no burn-in, no lifetime. Tests override what they exercise.
 */
export function recipeEnv(overrides: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {
    GPU_NODE_RECIPE_NAME: 'gpu-node', GPU_NODE_RECIPE_KEY: '', GPU_NODE_USER: 'ubuntu',
    GPU_NODE_DRIVER_BRANCH: '570', GPU_NODE_DRIVER_FLAVOR: 'open', GPU_NODE_CUDA_VERSION: '12.8',
    GPU_NODE_CONTAINER_TOOLKIT_VERSION: '', GPU_NODE_CONTAINER_TOOLKIT: '0', GPU_NODE_FABRIC_MANAGER: '0',
    GPU_NODE_PACKAGES: '', GPU_NODE_BURN_SECONDS: '0', GPU_NODE_EXPECTED_GPUS: '1', GPU_NODE_EXPECTED_MODEL: '',
    GPU_NODE_COMPUTE_CAPABILITY: '', GPU_NODE_LIFETIME_HOURS: '0', GPU_NODE_WARN_HOURS: '24', GPU_NODE_IDLE_SHELVE_HOURS: '0',
    GPU_NODE_STEPS: '',
  };
  const names = Object.keys(env).sort().join(' ');
  if (names !== [...nodeContract().requiredVars].sort().join(' ')) {
    throw new Error(`__tests__/support/node-env.ts lists ${names}; the contract requires ${nodeContract().requiredVars.join(' ')}`);
  }
  return { ...env, ...overrides };
}
