/**
 * The remote PACS nodes the user configured, in the catalogue (not the renderer's storage): the
 * app, the loopback server on any port and the CLI (`--node <name>`) all see the same list, and it
 * survives a reinstall of the UI. A DICOMweb password is never part of a node (the schema refuses it).
 */
import type { Database } from 'better-sqlite3';
import type { SavedPacsNode } from '../api/contract.js';

export function listPacsNodes(db: Database): SavedPacsNode[] {
  const rows = db.prepare('SELECT settings FROM pacs_nodes ORDER BY name COLLATE NOCASE').all() as { settings: string }[];
  return rows.map((r) => JSON.parse(r.settings) as SavedPacsNode);
}

/** Adds a node, or replaces the one of that name. */
export function savePacsNode(db: Database, node: SavedPacsNode): void {
  db.prepare('INSERT INTO pacs_nodes (name, settings, updated_at) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at')
    .run(node.name, JSON.stringify(node), new Date().toISOString());
}

/** True when a node of that name was there. */
export function deletePacsNode(db: Database, name: string): boolean {
  return db.prepare('DELETE FROM pacs_nodes WHERE name = ?').run(name).changes > 0;
}
