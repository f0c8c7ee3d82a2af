"""The graph store: the driver and sessions, the local Neo4j server, the schema, the
batched writer, first loads through neo4j-admin import, loading files, backup and restore."""
