// title: Alias lookup
// description: Which actors a name refers to, as sources spell it (case, spaces and punctuation
//   ignored), with every other name those actors go by. More than one actor means the name is
//   ambiguous.
// param: name string = "ZINC" -- a group name, vendor name or alias
WITH toLower(replace(replace(replace(replace($name, " ", ""), "-", ""), "_", ""), ".", "")) AS folded
MATCH (a:Actor)
WHERE toLower(a.name) = toLower($name) OR a.key = $name
   OR EXISTS { (al:Alias)-[:NAMES]->(a) WHERE al.key = folded }
OPTIONAL MATCH (other:Alias)-[:NAMES]->(a)
WITH a, collect(DISTINCT other) AS aliases
RETURN a.name AS actor, a.key AS key, a.kind AS kind,
       [x IN aliases | coalesce(x.spellings[0], x.key)] AS also_known_as, a
ORDER BY actor
