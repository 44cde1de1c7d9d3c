/** JSON trees as the fuzz tests see them: every node below the root as a path, and its parent. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Path = (string | number)[];

/** Every node below the root, as a path. */
export function pathsOf(value: Json, prefix: Path = []): Path[] {
  if (value === null || typeof value !== 'object') return [];
  const entries: [string | number, Json][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  return entries.flatMap(([k, v]) => [[...prefix, k], ...pathsOf(v, [...prefix, k])]);
}

/** The node holding `path`'s last step, and that step. */
export function parentOf(root: Json, path: Path): { parent: any; key: string | number } {
  let node: any = root;
  for (const k of path.slice(0, -1)) node = node[k];
  return { parent: node, key: path[path.length - 1] };
}
