import { ResolvedGpuFlavor } from './gpu-flavor';

/** `2xRTX_2080_TI`: the GPUs of a flavor, for metadata and image properties. */
export function gpuSummary(flavor: ResolvedGpuFlavor): string {
  return `${flavor.gpuCount}x${flavor.model?.id ?? 'unknown'}`;
}
