// title: What changed after a date
// description: Claims dated on or after a date, and incidents first or last seen on or after it,
//   newest first: what the record says happened since.
// param: since date = "2020-11-01" -- YYYY, YYYY-MM or YYYY-MM-DD
CALL () {
  MATCH (c:Claim)-[:ABOUT]->(i:Incident)
  WHERE c.date >= $since
  MATCH (c)-[:NAMES]->(a:Actor)
  MATCH (c)-[:STATED_BY]->(s:Source)
  RETURN c.date AS date, "claim" AS what, s.name + " " + c.stance + " " + a.name AS summary, i.name AS incident
  UNION
  MATCH (i:Incident)
  WHERE i.first_seen >= $since OR i.last_seen >= $since
  RETURN coalesce(i.last_seen, i.first_seen) AS date, "incident" AS what,
         "active " + coalesce(i.first_seen, "?") + " to " + coalesce(i.last_seen, "?") AS summary, i.name AS incident
}
RETURN date, what, summary, incident
ORDER BY date DESC, what, incident
