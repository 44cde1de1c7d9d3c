/**
 * File handling shared by the connector and the simulator. Every file either side hands over is
 * written under a temporary name, fsynced, and only then given its final name, so the other side
 * never sees a half-written file; moves and answer names never overwrite an existing file (an
 * answer that lookup relies on must not be replaced by a later one).
 */
import { randomBytes } from 'node:crypto';
import { copyFile, link, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { extname, join } from 'node:path';

/** How many numbered variants of a name are tried before a move gives up (a full folder is a bug). */
const NAME_VARIANTS_MAX = 10_000;

/** Writes `text` to `path` and fsyncs it, creating or truncating the file. */
export async function writeSynced(path: string, text: string): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Fsyncs a folder so a rename into it survives a power cut. Some platforms and filesystems cannot
 * open a folder for syncing; there the rename is as durable as the filesystem makes it.
 */
export async function syncFolder(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    return;
  } finally {
    await handle?.close();
  }
}

/** Writes a file atomically: a temp name in the same folder, fsync, rename (which replaces a file of the same name). */
export async function writeFileAtomic(dir: string, name: string, text: string): Promise<void> {
  const temp = join(dir, tempNameFor(name));
  try {
    await writeSynced(temp, text);
    await rename(temp, join(dir, name));
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await syncFolder(dir);
}

/**
 * Writes a file atomically under `name`, or under `name` numbered (`X.ack` → `X.2.ack`, `X.3.ack`)
 * when that name is taken: `link` refuses an existing target where `rename` would replace it.
 * Returns the name the file got.
 */
export async function writeFileExclusive(dir: string, name: string, text: string): Promise<string> {
  const temp = join(dir, tempNameFor(name));
  try {
    await writeSynced(temp, text);
    const placed = await linkUnderFreeName(temp, dir, name);
    await unlink(temp);
    await syncFolder(dir);
    return placed;
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}

/**
 * Moves a file into a folder without overwriting (numbered names as above); returns the name it
 * got. Across filesystems, where `link` fails, the file is copied to a temp name, fsynced and linked.
 */
export async function moveWithoutOverwrite(from: string, toDir: string, name: string): Promise<string> {
  let placed: string;
  try {
    placed = await linkUnderFreeName(from, toDir, name);
  } catch (error) {
    if (!isCode(error, 'EXDEV', 'EPERM', 'ENOTSUP', 'ENOSYS')) throw error;
    const temp = join(toDir, tempNameFor(name));
    try {
      await copyFile(from, temp);
      await syncFile(temp);
      placed = await linkUnderFreeName(temp, toDir, name);
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }
  await unlink(from);
  await syncFolder(toDir);
  return placed;
}

async function linkUnderFreeName(from: string, dir: string, name: string): Promise<string> {
  for (let n = 1; n <= NAME_VARIANTS_MAX; n++) {
    const candidate = numberedName(name, n);
    try {
      await link(from, join(dir, candidate));
      return candidate;
    } catch (error) {
      if (!isCode(error, 'EEXIST')) throw error;
    }
  }
  throw new Error(`Assertion failed: ${NAME_VARIANTS_MAX} files named like ${name} in ${dir}`);
}

/** `X.ack` for n = 1, `X.2.ack` for n = 2, ... */
export function numberedName(name: string, n: number): string {
  if (n === 1) return name;
  const extension = extname(name);
  return `${name.slice(0, name.length - extension.length)}.${n}${extension}`;
}

/** A temp name the other side ignores: a leading dot and a `.tmp` suffix (`.X.csv.<tag>.tmp`). */
export function tempNameFor(name: string, tag: string = randomBytes(4).toString('hex')): string {
  return `.${name}.${tag}.tmp`;
}

/** The names in a folder; an absent folder is an error (a misconfigured path must not read as "nothing there"). */
export async function listNames(dir: string): Promise<string[]> {
  return (await readdir(dir, { withFileTypes: true })).filter((entry) => entry.isFile()).map((entry) => entry.name);
}

/** A file's text, or undefined when it is gone (moved away by the other side meanwhile). */
export async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (isCode(error, 'ENOENT')) return undefined;
    throw error;
  }
}

export function isCode(error: unknown, ...codes: string[]): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && codes.includes(code);
}

/** A compact unique id for a file or request: UTC time to the millisecond, then random hex (`20260430101500123-1f2e3d4c`). */
export function uniqueFileId(nowMs: number): string {
  return `${new Date(nowMs).toISOString().replace(/\D/g, '')}-${randomBytes(4).toString('hex')}`;
}
