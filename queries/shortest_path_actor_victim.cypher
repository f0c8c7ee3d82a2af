// title: Shortest path from an actor to a victim
// description: The shortest chain of relationships (ignoring direction) between an actor and a
//   victim organisation, sector or country (at most 8 hops): how the graph connects them.
// param: actor string = "Lazarus Group" -- actor key or name (case-insensitive)
// param: victim string = "AstraZeneca" -- organisation, sector or country: key or name (case-insensitive)
MATCH (a:Actor) WHERE a.key = $actor OR toLower(a.name) = toLower($actor)
MATCH (v) WHERE (v:Organization OR v:Sector OR v:Country)
  AND (v.key = $victim OR toLower(v.name) = toLower($victim))
MATCH p = shortestPath((a)-[*..8]-(v))
RETURN a.name AS actor, v.name AS victim, length(p) AS hops,
       [n IN nodes(p) | coalesce(n.name, n.key)] AS via, p AS path
ORDER BY hops
LIMIT 10
