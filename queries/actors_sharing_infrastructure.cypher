// title: Actors sharing infrastructure
// description: Pairs of actors tied to the same domain, IP, account or file hash, either directly
//   (Actor USES Infrastructure) or through incidents that claims attribute to them.
// param: kind string = null -- only this infrastructure kind (domain, ip, url, email, account, sha256, ...)
// param: limit int = 100 -- at most this many rows
MATCH (x:Infrastructure)
WHERE $kind IS NULL OR x.kind = $kind
CALL (x) {
  MATCH (a:Actor)-[:USES]->(x) RETURN a
  UNION
  MATCH (a:Actor)<-[:NAMES]-(:Claim {stance: "attributes"})-[:ABOUT]->(:Incident)-[:USED]->(x) RETURN a
}
WITH x, collect(DISTINCT a) AS actors
WHERE size(actors) > 1
UNWIND actors AS a
UNWIND actors AS b
WITH x, a, b WHERE a.key < b.key
RETURN a.name AS actor, b.name AS other_actor, x.kind AS kind, x.value AS infrastructure, a, x, b
ORDER BY infrastructure, actor, other_actor
LIMIT $limit
