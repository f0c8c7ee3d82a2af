// title: An incident's neighbourhood
// description: Everything one hop from an incident (tools, techniques, infrastructure, victims,
//   reporting sources, claims) and, for each claim, the actor it names and the source stating it,
//   as paths to draw.
// param: incident string = "seed:astrazeneca-2020" -- incident key, or part of its name (case-insensitive)
MATCH (i:Incident)
WHERE i.key = $incident OR toLower(i.name) CONTAINS toLower($incident)
CALL (i) {
  MATCH p = (i)-[:USED|TARGETED|REPORTED_BY]->() RETURN p
  UNION
  MATCH p = (:Actor)<-[:NAMES]-(:Claim)-[:ABOUT]->(i) RETURN p
  UNION
  MATCH p = (:Source)<-[:STATED_BY]-(:Claim)-[:ABOUT]->(i) RETURN p
}
RETURN i.name AS incident, p AS path
