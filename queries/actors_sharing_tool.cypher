// title: Actors sharing a tool
// description: Pairs of actors known to use the same tool (directly, or through incidents that
//   claims attribute to them), with the tool's availability and how many actors use it: a
//   custom tool few actors share is strong evidence, a public or leaked one is weak.
// param: tool string = null -- only this tool (key, ATT&CK ID or name, case-insensitive); null for all
// param: limit int = 100 -- at most this many rows
MATCH (t:Tool)
WHERE $tool IS NULL OR t.key = $tool OR toLower(t.name) = toLower($tool) OR $tool IN coalesce(t.external_ids, [])
CALL (t) {
  MATCH (a:Actor)-[:USES]->(t) RETURN a
  UNION
  MATCH (a:Actor)<-[:NAMES]-(c:Claim {stance: "attributes"})-[:ABOUT]->(:Incident)-[:USED]->(t) RETURN a
}
WITH t, collect(DISTINCT a) AS actors
WHERE size(actors) > 1
UNWIND actors AS a
UNWIND actors AS b
WITH t, a, b, size(actors) AS users WHERE a.key < b.key
RETURN a.name AS actor, b.name AS other_actor, t.name AS tool, t.availability AS availability,
       users AS actors_using_tool, a, t, b
ORDER BY users, t.name, actor, other_actor
LIMIT $limit
