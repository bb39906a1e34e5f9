/** A regex matching the message parts in this order, each taken literally. */
export function inOrder(...parts: string[]): RegExp {
  return new RegExp(parts.map((p) => p.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('[^]*'));
}
