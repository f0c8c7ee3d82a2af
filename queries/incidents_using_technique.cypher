// title: Incidents using a technique
// description: Incidents that used an ATT&CK technique or any of its sub-techniques, oldest
//   first, with the actors that claims name for each.
// param: technique string = "T1566" -- ATT&CK technique ID (a parent also matches its sub-techniques)
// param: limit int = 200 -- at most this many rows
MATCH (t:Technique)
WHERE t.key = $technique OR EXISTS { (t)-[:SUBTECHNIQUE_OF]->(:Technique {key: $technique}) }
MATCH p = (i:Incident)-[:USED]->(t)
OPTIONAL MATCH (c:Claim {stance: "attributes"})-[:ABOUT]->(i)
OPTIONAL MATCH (c)-[:NAMES]->(a:Actor)
WITH i, t, p, collect(DISTINCT a.name) AS claimed_actors
RETURN i.first_seen AS first_seen, i.name AS incident, t.key AS technique,
       coalesce(t.name, "") AS technique_name, claimed_actors, p AS path
ORDER BY first_seen, incident, technique
LIMIT $limit
