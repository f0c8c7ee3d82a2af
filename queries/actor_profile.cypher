// title: Actor profile
// description: What an actor is known for: its aliases, sponsor, tools, techniques, targets, and
//   the incidents claims attribute to it (with the claiming sources).
// param: actor string = "Lazarus Group" -- actor key or name (case-insensitive)
MATCH (a:Actor)
WHERE a.key = $actor OR toLower(a.name) = toLower($actor)
OPTIONAL MATCH (a)-[:SPONSORED_BY]->(sp:Country)
WITH a, collect(DISTINCT sp.name) AS sponsors
RETURN a.name AS actor, a.kind AS kind, sponsors,
       COLLECT { MATCH (al:Alias)-[:NAMES]->(a) RETURN coalesce(al.spellings[0], al.key) } AS aliases,
       COLLECT { MATCH (a)-[:USES]->(t:Tool) RETURN t.name } AS tools,
       COLLECT { MATCH (a)-[:USES]->(t:Technique) RETURN t.key } AS techniques,
       COLLECT { MATCH (a)-[:TARGETS]->(x:Sector) RETURN x.name } AS target_sectors,
       COLLECT { MATCH (a)-[:TARGETS]->(x:Country) RETURN x.key } AS target_countries,
       COLLECT { MATCH (a)<-[:NAMES]-(:Claim {stance: "attributes"})-[:ABOUT]->(i:Incident)
                 RETURN DISTINCT i.name } AS attributed_incidents
