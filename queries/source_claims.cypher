// title: Everything a source has claimed
// description: All claims one source has made (attributions, denials, disputes), newest first,
//   with the incident and the actor named.
// param: source string = "src:microsoft" -- source key or name (case-insensitive)
MATCH (s:Source)
WHERE s.key = $source OR toLower(s.name) = toLower($source)
MATCH (s)<-[:STATED_BY]-(c:Claim)-[:ABOUT]->(i:Incident)
MATCH (c)-[:NAMES]->(a:Actor)
RETURN s.name AS source, c.date AS date, c.stance AS stance, a.name AS actor, i.name AS incident,
       c.confidence AS confidence, c.url AS url, c, a, i
ORDER BY date DESC, incident
