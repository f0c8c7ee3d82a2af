// title: Competing claims
// description: Incidents whose claims disagree: more than one actor named, or an attribution
//   answered by a denial or dispute. Each row lists the actors named and the stances taken.
// param: incident string = null -- only this incident (key or part of its name); null for all
MATCH (i:Incident)
WHERE $incident IS NULL OR i.key = $incident OR toLower(i.name) CONTAINS toLower($incident)
MATCH (c:Claim)-[:ABOUT]->(i)
MATCH (c)-[:NAMES]->(a:Actor)
MATCH (c)-[:STATED_BY]->(s:Source)
WITH i, collect(DISTINCT a.name) AS actors, collect(DISTINCT c.stance) AS stances,
     collect(s.name + " " + c.stance + " " + a.name) AS claims
WHERE size(actors) > 1 OR size(stances) > 1
RETURN i.name AS incident, i.first_seen AS first_seen, actors, stances, claims
ORDER BY first_seen, incident
