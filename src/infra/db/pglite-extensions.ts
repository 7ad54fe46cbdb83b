/**
 * The contrib extensions the migrations create (0012: unaccent for accent folding in search,
 * btree_gin for the owner's id in the search indexes). PGlite ships each as a separate module that
 * must be handed to every PGlite that opens this schema, including one loaded from a dump.
 */
export async function pgliteExtensions() {
  const [{ unaccent }, { btree_gin }] = await Promise.all([
    import('@electric-sql/pglite/contrib/unaccent'),
    import('@electric-sql/pglite/contrib/btree_gin'),
  ]);
  return { unaccent, btree_gin };
}
