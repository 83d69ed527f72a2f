// Locations inside the installed package.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (dist/cli/.. /..). */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where the kiln_export Python package lives, for PYTHONPATH. */
export const exporterSourceDir = path.join(packageRoot, 'tools', 'kiln-export', 'src');

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}
