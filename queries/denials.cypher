// title: Denials and disputes
// description: Claims whose stance is "denies" or "disputes", with the attributions they answer
//   (the attributing claims about the same incident naming the same actor).
// param: actor string = null -- only denials about this actor (key or name, case-insensitive); null for all
MATCH (d:Claim)-[:NAMES]->(a:Actor)
WHERE d.stance IN ["denies", "disputes"]
  AND ($actor IS NULL OR a.key = $actor OR toLower(a.name) = toLower($actor))
MATCH (d)-[:ABOUT]->(i:Incident)
MATCH (d)-[:STATED_BY]->(s:Source)
OPTIONAL MATCH (att:Claim {stance: "attributes"})-[:ABOUT]->(i)
WHERE EXISTS { (att)-[:NAMES]->(a) }
OPTIONAL MATCH (att)-[:STATED_BY]->(asrc:Source)
WITH d, a, i, s, collect(DISTINCT asrc.name) AS attributed_by
RETURN d.date AS date, d.stance AS stance, s.name AS source, a.name AS actor, i.name AS incident,
       attributed_by, d.statement AS statement
ORDER BY date, incident
