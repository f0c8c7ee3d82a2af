// title: Incidents overlapping in time and technique
// description: Pairs of incidents whose activity periods overlap and that share techniques
//   (a sub-technique also counts for its parent), most shared first.
// param: min_shared int = 2 -- at least this many shared techniques
// param: limit int = 100 -- at most this many rows
MATCH (i:Incident), (j:Incident)
WHERE i.key < j.key
  AND coalesce(i.first_seen, "0000") <= coalesce(j.last_seen, j.first_seen, "9999")
  AND coalesce(j.first_seen, "0000") <= coalesce(i.last_seen, i.first_seen, "9999")
MATCH (i)-[:USED]->(ti:Technique)
OPTIONAL MATCH (ti)-[:SUBTECHNIQUE_OF]->(pi:Technique)
WITH i, j, collect(DISTINCT ti.key) + collect(DISTINCT pi.key) AS ikeys
MATCH (j)-[:USED]->(tj:Technique)
OPTIONAL MATCH (tj)-[:SUBTECHNIQUE_OF]->(pj:Technique)
WITH i, j, ikeys, collect(DISTINCT tj.key) + collect(DISTINCT pj.key) AS jkeys
WITH i, j, [k IN ikeys WHERE k IN jkeys] AS both
// each shared key once, in order (the console refuses list growth inside reduce())
CALL (both) { UNWIND both AS k RETURN collect(DISTINCT k) AS shared }
WITH i, j, shared WHERE size(shared) >= $min_shared
RETURN i.name AS incident, j.name AS other_incident, size(shared) AS shared_techniques, shared,
       i.first_seen AS first_seen, j.first_seen AS other_first_seen, i, j
ORDER BY shared_techniques DESC, incident, other_incident
LIMIT $limit
