// title: Actors targeting a sector or country
// description: Actors known to target a sector and/or a country, directly (Actor TARGETS) or
//   through incidents that claims attribute to them; how many such incidents.
// param: sector string = "pharmaceuticals" -- sector name or key; null for any sector
// param: country string = null -- ISO 3166 alpha-2 code (e.g. GB); null for any country
MATCH (a:Actor)
WHERE ($sector IS NULL OR EXISTS { (a)-[:TARGETS]->(s:Sector) WHERE s.key = $sector OR s.name = toLower($sector) }
       OR EXISTS { (a)<-[:NAMES]-(:Claim {stance: "attributes"})-[:ABOUT]->(:Incident)-[:TARGETED]->(s:Sector)
                   WHERE s.key = $sector OR s.name = toLower($sector) })
  AND ($country IS NULL OR EXISTS { (a)-[:TARGETS]->(:Country {key: toUpper($country)}) }
       OR EXISTS { (a)<-[:NAMES]-(:Claim {stance: "attributes"})-[:ABOUT]->(:Incident)-[:TARGETED]->(:Country {key: toUpper($country)}) })
OPTIONAL MATCH (a)<-[:NAMES]-(:Claim {stance: "attributes"})-[:ABOUT]->(i:Incident)
RETURN a.name AS actor, a.kind AS kind, count(DISTINCT i) AS attributed_incidents, a
ORDER BY attributed_incidents DESC, actor
