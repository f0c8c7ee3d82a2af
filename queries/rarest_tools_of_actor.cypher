// title: The rarest tools of an actor
// description: The tools an actor uses (directly or in incidents attributed to it), rarest first:
//   how many actors in the graph use each, and its availability. Rare custom tools are the
//   actor's most diagnostic evidence.
// param: actor string = "Lazarus Group" -- actor key or name (case-insensitive)
MATCH (a:Actor)
WHERE a.key = $actor OR toLower(a.name) = toLower($actor)
CALL (a) {
  MATCH (a)-[:USES]->(t:Tool) RETURN t
  UNION
  MATCH (a)<-[:NAMES]-(:Claim {stance: "attributes"})-[:ABOUT]->(:Incident)-[:USED]->(t:Tool) RETURN t
}
WITH a, t, COUNT { (other:Actor)-[:USES]->(t) WHERE other <> a } AS other_actors
RETURN a.name AS actor, t.name AS tool, t.availability AS availability, other_actors, t
ORDER BY other_actors, CASE t.availability WHEN "custom" THEN 0 WHEN "commodity" THEN 1 ELSE 2 END, tool
