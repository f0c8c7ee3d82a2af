// title: Claims about an incident
// description: Every claim about one incident: which source names which actor, with what
//   stance and confidence, when, and how reliable the source is (Admiralty grade).
// param: incident string = "seed:astrazeneca-2020" -- incident key, or part of its name (case-insensitive)
MATCH (i:Incident)
WHERE i.key = $incident OR toLower(i.name) CONTAINS toLower($incident)
MATCH (c:Claim)-[:ABOUT]->(i)
MATCH (c)-[:NAMES]->(a:Actor)
MATCH (c)-[:STATED_BY]->(s:Source)
RETURN i.name AS incident, c.date AS date, s.name AS source, s.kind AS source_kind,
       s.reliability AS reliability, c.stance AS stance, a.name AS actor, c.confidence AS confidence,
       c.statement AS statement, c, a, s
ORDER BY incident, date, source
